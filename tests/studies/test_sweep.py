"""Sweeps: cache reuse, resume after a killed run, and results independent of the number of
workers."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from sims import io
from sims.config import TrainConfig
from sims.models import PAPER_PAIR
from sims.studies.cells import DIVERGED, Cell, cell_key, cell_seed
from sims.studies.sweep import CELL_KINDS, Cache, run_cells


def cells(count=4, steps=40):
    return [
        (
            "train",
            TrainConfig(
                model=model,
                n=6,
                d=30,
                m=2,
                nsnr2=nsnr2,
                steps=steps,
                log_every=10,
                seed=cell_seed(0, model, nsnr2),
            ),
        )
        for model in (m.name for m in PAPER_PAIR)
        for nsnr2 in (0.5, 5.0)
    ][:count]


def test_cell_seed_depends_on_identity_only():
    assert cell_seed(0, "a", 1.5) == cell_seed(0, "a", 1.5)
    assert len({cell_seed(0, "a", 1.5), cell_seed(0, "a", 2.5), cell_seed(1, "a", 1.5)}) == 3


def test_cache_is_reused(tmp_path):
    cache = Cache(tmp_path)
    first = run_cells(cells(), cache, progress=False)
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert len(stamps) == 8  # an npz and a json per cell
    second = run_cells(cells(), cache, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps  # nothing rewritten
    for a, b in zip(first, second):
        assert a.summary == b.summary
        for k in a.arrays:
            assert np.array_equal(a.arrays[k], b.arrays[k])
    # a changed setting is a new cell
    changed = [(k, c.replace(steps=41)) for k, c in cells(1)]
    assert cell_key(*changed[0]) != cell_key(*cells(1)[0])


def test_a_diverged_cell_is_cached_and_read_back_as_diverged(tmp_path):
    """A run that diverges is a cell too: cached as {"diverged": message} (the format older caches
    hold), read back as diverged, and counted apart from a finished one."""
    bad = (
        "train",
        TrainConfig(
            model="diffusion", n=6, d=30, m=2, eta=50.0, sigma0=0.3, steps=40, log_every=10
        ),
    )
    first = run_cells([bad, *cells(1)], Cache(tmp_path), progress=False)
    meta = json.loads((tmp_path / f"{cell_key(*bad)}.json").read_text())
    assert list(meta["summary"]) == [DIVERGED] and "diverged at step" in meta["summary"][DIVERGED]
    again = run_cells([bad, *cells(1)], Cache(tmp_path), progress=False)
    for out in (first, again):
        assert (
            not out[0].finished
            and out[0].message == meta["summary"][DIVERGED]
            and out[0].arrays == {}
        )
        assert out[1].finished and out[1].message is None and isinstance(out[1], Cell)


def test_damaged_cell_is_recomputed(tmp_path):
    cache = Cache(tmp_path)
    (out,) = run_cells(cells(1), cache, progress=False)
    key = cell_key(*cells(1)[0])
    (tmp_path / f"{key}.npz").write_bytes(b"garbage")
    (again,) = run_cells(cells(1), cache, progress=False)
    assert np.array_equal(again.arrays["loss"], out.arrays["loss"])
    with np.load(tmp_path / f"{key}.npz") as f:  # and the damaged file was replaced
        assert np.array_equal(f["loss"], out.arrays["loss"])


@pytest.mark.parametrize("jobs", [2])
def test_same_results_with_one_or_two_workers(tmp_path, jobs):
    one = run_cells(cells(), Cache(tmp_path / "one"), jobs=1, progress=False)
    two = run_cells(cells(), Cache(tmp_path / "two"), jobs=jobs, progress=False)
    for a, b in zip(one, two):
        assert a.summary == b.summary
        for k in a.arrays:
            assert np.array_equal(a.arrays[k], b.arrays[k])


def test_resume_after_kill(tmp_path):
    """Kill a sweep after some cells finished; the rerun keeps them and computes only the rest."""
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_sweep import cells
        from sims.studies.sweep import Cache, run_cells
        run_cells(cells(4, steps=12000), Cache({str(tmp_path)!r}), progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 120
    while len(list(tmp_path.glob("*.json"))) < 1 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")}
    assert 1 <= len(done) < 4, "the kill should land between cells"
    results = run_cells(cells(4, steps=12000), Cache(tmp_path), progress=False)
    assert all(r.run.steps_run == 12000 for r in results)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.json") if p.name in done} == done
    assert len(list(tmp_path.glob("*.json"))) == 4


def test_dask_executor(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as lc,
        distributed.Client(lc) as client,
    ):
        remote = run_cells(
            cells(2), Cache(tmp_path / "dask"), executor=client.get_executor(), progress=False
        )
    local = run_cells(cells(2), Cache(tmp_path / "local"), progress=False)
    for a, b in zip(remote, local):
        assert np.array_equal(a.trace.signal, b.trace.signal)


def test_every_cell_kind_is_in_one_table_and_names_a_function(tmp_path):
    from sims import FldmError
    from sims.studies.sweep import _runner

    for kind in CELL_KINDS:
        assert callable(_runner(kind)), kind
    assert _runner("probe(l2=0.01,n_test=2000)") is _runner("probe")  # a kind with parameters
    with pytest.raises(FldmError, match="unknown cell kind 'nothing'"):
        run_cells([("nothing", cells(1)[0][1])], Cache(tmp_path), progress=False)


def test_a_cell_record_reads_its_run(tmp_path):
    """A finished train cell's typed summary and trace are its JSON summary and arrays, as
    stored."""
    (cell,) = run_cells(cells(1), Cache(tmp_path), progress=False)
    (again,) = run_cells(cells(1), Cache(tmp_path), progress=False)  # read back from disk
    for c in (cell, again):
        assert c.kind == "train" and c.config == io.plain(cells(1)[0][1].to_dict())
        assert c.run.ratio == c.summary["ratio"] and c.run.steps_run == 40
        assert np.array_equal(c.trace.signal_max, c.arrays["signal_max"])
        assert c.run.test_error is None  # the denoiser reports none
