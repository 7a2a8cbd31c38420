"""Sweeps: many cells (one run each), cached by a hash of their full configuration, run on any
Executor.

- A cell is (kind, config) (`sims.studies.cells`): kind names the function that computes it in the
  one table `CELL_KINDS` ("train", "ode", "predict", and the studies' "stationary", "probe",
  "mnist", "window", "ablation"); each turns its config (a TrainConfig, or any frozen dataclass with
  `to_dict()`, `steps` and `n`) into an `Outcome` (a JSON summary and arrays), kept as a `Cell`.
  Its cache key hashes kind, the full config and the package version. Train cells of one shape
  run as one stacked computation (`sims.train.train_many`), in groups fixed by the cells alone,
  never by the workers.
- Finished cells are written atomically as KEY.npz then KEY.json (the json marks completion and
  carries a SHA-256 of the npz's arrays and one of its own content), by the main process as each one
  finishes, so a killed sweep loses only the cells in flight and a rerun computes only what is
  missing. A cell whose files cannot be read, whose json or arrays do not match their checksums, or
  whose kind and config give another key than its file name, counts as damaged: it is recomputed.
  The command's closing line (sims.progress) counts the cells computed, damaged and read back.
- Worker processes (`worker_pool`) exit by themselves when the main process dies, and are stopped by
  it when it stops on an error or a signal, so no worker outlives a sweep.
- Seeds come from `cell_seed(base, identity)`: a SeedSequence of the base seed and the cell's
  identity, so results do not depend on the order or number of workers.
- Any `concurrent.futures.Executor` runs the cells (a process pool by default; a dask.distributed
  client's `get_executor()` runs the same sweep on a cluster).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from sims import FldmError, __version__, io
from sims.config import TrainConfig
from sims.progress import bar as progress_bar, record_cells
from sims.studies.cells import Cell, Outcome, cell_key, key_of, pack
from sims.train import stack_signature, train_many
from theory.ode import run_ode
from theory.predict import predict

# Every cell kind, by name: the function that computes a cell from its configuration, as
# "module:function" (imported where the cell runs, so a worker needs no registry). "train" cells run
# in groups of one shape (`train_group`); every other kind one cell at a time. A kind may carry
# parameters that belong in the cache key after its name, as "probe(l2=0.01,n_test=2000)"
# (`parametrised`).
CELL_KINDS = {
    "train": "sims.studies.sweep:train_group",
    "ode": "sims.studies.sweep:ode_cell",
    "predict": "sims.studies.sweep:predict_cell",
    "stationary": "sims.studies.research:stationary_cell",
    "probe": "sims.studies.probe:probe_cell",
    "mnist": "sims.studies.mnist:run_cell",
    "d2-domain": "sims.studies.d2domain:point_cell",
    "window": "sims.studies.earlymap:window_cell",
    "ablation": "sims.studies.ablation:flow_cell",
    "memorise": "sims.studies.memorise:group_cell",
}


def parametrised(name: str, **params) -> str:
    """The kind `name` with parameters that belong in the cache key: "name(k=v,...)"."""
    return f"{name}({','.join(f'{k}={v:g}' for k, v in params.items())})"


def train_group(configs: list[TrainConfig]) -> list[Outcome]:
    """Runs of one shape in one stacked computation (sims.train.train_many, equal to separate runs
    to rounding); a diverged run becomes a cell whose summary says so."""
    results = train_many(configs, errors="return")
    return [
        Outcome.diverged(str(r)) if isinstance(r, Exception) else pack(r, c.model)
        for c, r in zip(configs, results)
    ]


def ode_cell(cfg: TrainConfig) -> Outcome:
    try:
        return pack(run_ode(cfg), cfg.model)
    except FldmError as exc:
        return Outcome.diverged(str(exc))


def predict_cell(cfg: TrainConfig) -> Outcome:
    return Outcome(predict(cfg).to_dict(), {})


GROUP_SIZE = 16  # train cells of one shape run together, at most this many


# by sweep label (a study's name): cells computed and read from the cache, and the computed cells'
# CPU seconds where they ran (the workers' included), since this process started; fldm reproduce
# adds the wall time and writes it beside its cache (sims.studies.report.write_times)
SECTION_TIMES: dict[str, dict] = {}


def _run_group(run, configs: list) -> list[dict]:
    """One group of cells, on one BLAS thread wherever it runs (in this process, a pool, a dask
    worker): OpenBLAS may round differently with another thread count, and results must not depend
    on the workers; and N workers with several BLAS threads each oversubscribe the cores (seen:
    small products 60x slower). `run` is `train_group` (the whole group at once) or a cell kind's
    function (one cell at a time); it is passed itself, not by its kind, so a worker needs no
    registry (it imports the function's module)."""
    with threadpool_limits(1):
        if run is train_group:
            return train_group(configs)
        return [run(cfg) for cfg in configs]


def _timed_group(run, configs: list) -> tuple[list, float]:
    """`_run_group` and the CPU seconds it took in the process that ran it (for `section_times`)."""
    start = time.process_time()
    outs = _run_group(run, configs)
    return outs, time.process_time() - start


def _runner(kind: str):
    """The function of a cell kind (CELL_KINDS; parameters after the name are part of the kind)."""
    name = kind.partition("(")[0]
    if name not in CELL_KINDS:
        raise FldmError(f"unknown cell kind {kind!r}; known: {', '.join(sorted(CELL_KINDS))}")
    module, _, function = CELL_KINDS[name].partition(":")
    return getattr(importlib.import_module(module), function)


def _groups(todo: dict, cells: list) -> list[list[str]]:
    """Keys of the cells to compute, in groups: train cells that can share one stacked computation
    go together (by cache key order, so the grouping never depends on the number of workers)."""
    by_shape: dict[tuple, list[str]] = {}
    for key in sorted(todo):
        kind, cfg = cells[todo[key][0]]
        signature = stack_signature(cfg) if kind == "train" else None
        shape = (kind, signature, cfg.n, cfg.d, cfg.data) if signature is not None else (key,)
        by_shape.setdefault(shape, []).append(key)
    groups = [
        g[i : i + GROUP_SIZE] for g in by_shape.values() for i in range(0, len(g), GROUP_SIZE)
    ]
    # longest first, so a pool is not left waiting on one long group at the end
    return sorted(
        groups, key=lambda g: -sum(cells[todo[k][0]][1].steps * cells[todo[k][0]][1].n for k in g)
    )


def _content_sha256(meta: dict) -> str:
    """SHA-256 of a cell json's content (kind, config, version, summary, the arrays' checksum) as
    canonical JSON: keys sorted, no spaces, floats as Python writes them (they read back exact), so
    a reformatted file keeps its checksum and an edited value does not."""
    content = {k: v for k, v in meta.items() if k != "sha256"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


class Cache:
    """Finished cells in a folder: KEY.npz (arrays) and KEY.json (kind, config, version, summary,
    the arrays' SHA-256, and `sha256`, a checksum of all of these; written last). `damaged` collects
    the keys of cells found but unusable (see `load`)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.damaged: set[str] = set()

    def load(self, key: str) -> Cell | None:
        """The cell; None if it is not there (no json: never finished) or is damaged, which is
        noted: a cell is used only if every byte its verdicts read is covered. Damaged: its json or
        npz cannot be read; the json's content does not match its checksum (an edited summary or
        config) or has none (written before there was one); the key computed from its kind, config
        and version is not its file name (a json copied from another cell); or the arrays do not
        match their checksum."""
        meta_path, arr_path = self.folder / f"{key}.json", self.folder / f"{key}.npz"
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if meta["sha256"] != _content_sha256(meta):
                raise ValueError("the json does not match its checksum")
            if key_of(meta["kind"], meta["config"], meta["version"]) != key:
                raise ValueError("the json is another cell's")
            with open(arr_path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            if meta["arrays_sha256"] != io.arrays_sha256(arrays):
                raise ValueError("the arrays do not match their checksum")
            return Cell(meta["kind"], meta["config"], dict(meta["summary"]), arrays)
        except Exception:  # truncated or empty files, bad zip or JSON, missing keys, a mismatch
            self.damaged.add(key)
            return None

    def save(self, key: str, cell: Cell) -> None:
        """KEY.npz, then KEY.json (it marks the cell finished), each written at once (not held back
        by an enclosing io.together: a finished cell is kept whatever happens to the study's other
        outputs)."""
        io.write_npz(self.folder / f"{key}.npz", now=True, **cell.arrays)
        meta = {
            "kind": cell.kind,
            "config": cell.config,
            "version": __version__,
            "summary": cell.summary,
            "arrays_sha256": io.arrays_sha256(cell.arrays),
        }
        meta = json.loads(io.to_json(meta))  # as it will read back: NaN as null, tuples as lists
        meta["sha256"] = _content_sha256(meta)
        io.write_json(self.folder / f"{key}.json", meta, now=True)


PARENT_POLL = 0.5  # seconds between a worker's checks that the process that started it is alive


def _watch_parent(parent: int) -> None:
    """Exit when the process that started this one is gone (re-parented)."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(1)


def _start_worker(parent: int) -> None:
    """A pool worker's set-up: the main process handles SIGINT (a terminal sends it to the whole
    group) and stops the workers; SIGTERM and SIGHUP end a worker at once (no handler of the main
    process's inherited); and the worker exits by itself if the main process dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """`jobs` worker processes that exit by themselves when this process dies (`stop_pool` ends
    them)."""
    return ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker, initargs=(os.getpid(),))


def stop_pool(pool: ProcessPoolExecutor, failed: bool) -> None:
    """Shut a pool down: after normal work, wait for it; on an error or a signal (`failed`), end its
    workers at once rather than wait for the cells in flight."""
    if failed:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
    pool.shutdown(wait=not failed, cancel_futures=True)


def run_cells(
    cells: list[tuple],
    cache: Cache,
    executor: Executor | None = None,
    jobs: int = 1,
    progress: bool = True,
    label: str = "cells",
    sections: list[str] | None = None,
) -> list[Cell]:
    """Results of every (kind, config) cell, in order, computing only those not in the cache.
    `executor` (any concurrent.futures.Executor) runs them; else `jobs` > 1 processes, else this
    process. The cells read from the cache, recomputed because damaged (`Cache.load`) and computed
    because missing (never run, or killed in flight) go to the running command's tally
    (sims.progress.record_cells), whose closing line says how many of each. `sections` (one name per
    cell; default: `label` for all) says under which names SECTION_TIMES counts the cells and their
    CPU seconds (a stacked group's, shared equally by its cells; a cell two sections name counts in
    the first)."""
    keys = [cell_key(kind, cfg) for kind, cfg in cells]
    known = len(cache.damaged)
    results: list[Cell | None] = [cache.load(k) for k in keys]
    if len(cache.damaged) > known:
        print(
            f"fldm: note: {len(cache.damaged) - known} damaged cell(s) in {cache.folder} "
            "(unreadable, edited, or not matching their checksums or their file names): "
            "recomputing them",
            file=sys.stderr,
        )
    todo = {}
    for i, (key, res) in enumerate(zip(keys, results)):
        if res is None:
            todo.setdefault(key, []).append(i)  # identical cells are computed once
    record_cells(set(todo), set(keys) - set(todo), damaged=cache.damaged & set(todo))
    sections = [label] * len(cells) if sections is None else sections
    owner = {}  # cache key -> the section it counts in
    for key, name in zip(keys, sections):
        if key not in owner:
            owner[key] = name
            times = SECTION_TIMES.setdefault(name, {"computed": 0, "cached": 0, "cpu": 0.0})
            times["computed" if key in todo else "cached"] += 1
    if not todo:
        return results
    bar = progress_bar(len(todo), label, enabled=progress, unit="cell")  # None with progress off

    def finish(group, outs_cpu):
        outs, cpu = outs_cpu
        for key in group:
            SECTION_TIMES[owner[key]]["cpu"] += cpu / len(group)
        for key, out in zip(group, outs):
            kind, cfg = cells[todo[key][0]]
            cell = Cell(kind, io.plain(cfg.to_dict()), out.summary, out.arrays)
            cache.save(key, cell)
            for i in todo[key]:
                results[i] = cell
            if bar is not None:
                bar.update(1)

    groups = _groups(todo, cells)

    own = None
    if executor is None and jobs > 1:
        executor = own = worker_pool(jobs)
    failed = True
    try:
        args = [
            (_runner(cells[todo[g[0]][0]][0]), [cells[todo[k][0]][1] for k in g]) for g in groups
        ]
        if executor is None:
            for group, (run, configs) in zip(groups, args):
                finish(group, _timed_group(run, configs))
        else:
            futures = {executor.submit(_timed_group, *a): group for group, a in zip(groups, args)}
            for fut in as_completed(futures):
                finish(futures[fut], fut.result())
        failed = False
    finally:
        if own is not None:
            stop_pool(own, failed)
        if bar is not None:
            bar.close()
    return results


@contextmanager
def dask_executor(address: str):
    """An Executor on the dask.distributed scheduler at `address` (needs the `dask` extra), for a
    `with` block; the client is closed at its end."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise FldmError("--scheduler needs dask: pip install -e '.[dask]'") from None
    try:
        client = Client(address, timeout=10)
    except OSError as exc:
        raise FldmError(f"cannot reach the dask scheduler at {address}: {exc}") from None
    try:
        yield client.get_executor()
    finally:
        client.close()
