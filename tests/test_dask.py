"""`fldm reproduce --scheduler ADDRESS` on a real dask.distributed cluster (worker processes): the
cells and the report equal a local run's, and a worker killed mid-run loses nothing."""

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed")

from sims.cli import main  # noqa: E402

pytestmark = pytest.mark.slow


def _report(folder):
    return json.loads((folder / "report.json").read_text())


def _same_cells(a, b):
    names = sorted(p.name for p in a.glob("*.npz"))
    assert names and names == sorted(p.name for p in b.glob("*.npz"))
    for name in names:
        with np.load(a / name) as x, np.load(b / name) as y:
            # nan marks what a run does not have (the exact loss has no draws): equal as nan
            same = all(
                np.array_equal(x[k], y[k], equal_nan=x[k].dtype.kind == "f") for k in x.files
            )
            assert x.files == y.files and same, name


def test_reproduce_on_a_cluster_equals_the_local_run_even_when_a_worker_dies(tmp_path):
    args = ["reproduce", "--preset", "tiny", "--no-progress"]
    assert (
        main(args + ["--out", str(tmp_path / "local"), "--cache", str(tmp_path / "local-cache")])
        == 0
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as lc,
        distributed.Client(lc) as client,
    ):
        pids = client.run(os.getpid)
        codes = []
        run = threading.Thread(
            target=lambda: codes.append(
                main(
                    args
                    + [
                        "--scheduler",
                        lc.scheduler_address,
                        "--out",
                        str(tmp_path / "dask"),
                        "--cache",
                        str(tmp_path / "dask-cache"),
                    ]
                )
            )
        )
        run.start()
        deadline = time.time() + 120
        while not list((tmp_path / "dask-cache").glob("*.json")) and time.time() < deadline:
            time.sleep(0.05)
        os.kill(next(iter(pids.values())), signal.SIGKILL)  # one worker dies with cells in flight
        run.join(timeout=600)
        assert not run.is_alive() and codes == [0]
    assert _report(tmp_path / "dask") == _report(tmp_path / "local")
    _same_cells(tmp_path / "local-cache", tmp_path / "dask-cache")
