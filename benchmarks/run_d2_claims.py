"""Judge only the claims on D2's other readings and the stationary branches (R1, R2) for one preset,
timed.

PYTHONPATH=$PWD python benchmarks/run_d2_sections.py --preset full --jobs 2 --out /tmp/d2map_full
"""

import argparse
import os
import time
from pathlib import Path

from sims.studies.claims import r1, r2
from sims.studies.report import reproduce

parser = argparse.ArgumentParser()
parser.add_argument("--preset", default="quick")
parser.add_argument("--jobs", type=int, default=2)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default="/tmp/d2map_sections")
args = parser.parse_args()
out = Path(args.out)
print("load average", os.getloadavg(), flush=True)
for claim in (r2, r1):
    start = time.time()
    report = reproduce(
        args.preset,
        out=out / claim.SPEC.id,
        cache_dir=out / "cache",
        jobs=args.jobs,
        seed=args.seed,
        progress=False,
        claims=(claim,),
    )
    print(
        f"{claim.SPEC.id}: {time.time() - start:.1f} s; load average {os.getloadavg()}", flush=True
    )
    for e in report["claims"]:
        print(e["id"], e["verdict"], flush=True)
