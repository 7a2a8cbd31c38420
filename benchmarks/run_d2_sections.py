"""Run only the sections of issue 10 (D2 robustness R1, branch map R2) for one preset, timed.

PYTHONPATH=$PWD python benchmarks/run_d2_sections.py --preset full --jobs 2 --out /tmp/d2map_full
"""

import argparse
import json
import os
import time
from pathlib import Path

from sims.studies import branchmap, d2robust
from sims.studies.sections import run_sections
from sims.studies.sweep import Cache

parser = argparse.ArgumentParser()
parser.add_argument("--preset", default="quick")
parser.add_argument("--jobs", type=int, default=2)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default="/tmp/d2map_sections")
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
print("load average", os.getloadavg(), flush=True)
report = {}
for section in (branchmap.SECTION, d2robust.SECTION):
    start = time.time()
    entries, figures = run_sections(
        args.preset,
        args.seed,
        Cache(out / "cache"),
        out,
        jobs=args.jobs,
        progress=False,
        sections=[section],
    )
    report[section.name] = {"seconds": time.time() - start, "entries": entries, "figures": figures}
    print(
        f"{section.name}: {time.time() - start:.1f} s; load average {os.getloadavg()}", flush=True
    )
    for e in entries:
        print(e["id"], e["verdict"], flush=True)
(out / "sections.json").write_text(json.dumps(report, indent=1, default=str))
