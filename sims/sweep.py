"""Sweeps: many cells (one run each), cached by a hash of their full configuration, run on any Executor.

- A cell is (kind, config): kind names a top-level function in `CELL_KINDS` that turns a TrainConfig
  into arrays and a JSON summary. Its cache key hashes kind, the full config and the package version.
- Finished cells are written atomically as KEY.npz then KEY.json (the json marks completion), by the
  main process as each one finishes, so a killed sweep loses only the cells in flight and a rerun
  computes only what is missing.
- Seeds come from `cell_seed(base, identity)`: a SeedSequence of the base seed and the cell's identity,
  so results do not depend on the order or number of workers.
- Any `concurrent.futures.Executor` runs the cells (a process pool by default; a dask.distributed
  client's `get_executor()` runs the same sweep on a cluster).
"""
from __future__ import annotations

import hashlib
import json
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from sims import FldmError, __version__, io
from sims.config import TrainConfig


def cell_seed(base_seed: int, *identity) -> int:
    """A 32-bit seed from the base seed and a JSON-able identity (e.g. ("ratio", "diffusion", 0.75, 1))."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).digest()
    words = np.frombuffer(digest[:16], dtype=np.uint32).tolist()
    return int(np.random.SeedSequence([base_seed, *words]).generate_state(1)[0])


def cell_key(kind: str, cfg: TrainConfig) -> str:
    payload = json.dumps({"kind": kind, "config": cfg.to_dict(), "version": __version__}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _pack(result, model: str) -> dict:
    """Arrays and summary of a sims.train.Result, with the headline summary at every logged step."""
    from sims.train import summarize
    per_step = [summarize(model, s, z, result.data.y) for s, z in zip(result.signal, result.noise)]
    arrays = {"steps": result.steps, "loss": result.loss, "grad_norm": result.grad_norm,
              "signal": result.signal, "noise": result.noise,
              "signal_max": np.array([p["signal"] for p in per_step]),
              "noise_max": np.array([p["noise"] for p in per_step])}
    return {"arrays": arrays, "summary": result.summary()}


def train_cell(cfg: TrainConfig) -> dict:
    from sims import DivergenceError
    from sims.train import train
    try:
        return _pack(train(cfg), cfg.model)
    except DivergenceError as exc:
        return {"arrays": {}, "summary": {"diverged": str(exc)}}


def ode_cell(cfg: TrainConfig) -> dict:
    from theory.ode import run_ode
    try:
        return _pack(run_ode(cfg), cfg.model)
    except FldmError as exc:
        return {"arrays": {}, "summary": {"diverged": str(exc)}}


def predict_cell(cfg: TrainConfig) -> dict:
    from theory.predict import predict
    return {"arrays": {}, "summary": predict(cfg)}


CELL_KINDS = {"train": train_cell, "ode": ode_cell, "predict": predict_cell}


def _run_one(kind: str, cfg: TrainConfig) -> dict:
    return CELL_KINDS[kind](cfg)


class Cache:
    """Finished cells in a folder: KEY.npz (arrays) and KEY.json (summary, config; written last)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def load(self, key: str) -> dict | None:
        meta_path, arr_path = self.folder / f"{key}.json", self.folder / f"{key}.npz"
        if not (meta_path.is_file() and arr_path.is_file()):
            return None
        try:
            meta = json.loads(meta_path.read_text())
            with np.load(arr_path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except (OSError, ValueError):  # a damaged cell is recomputed
            return None
        return {"arrays": arrays, "summary": meta["summary"]}

    def save(self, key: str, kind: str, cfg: TrainConfig, out: dict) -> None:
        io.write_npz(self.folder / f"{key}.npz", **out["arrays"])
        io.write_json(self.folder / f"{key}.json", {"kind": kind, "config": cfg.to_dict(), "version": __version__,
                                                    "summary": out["summary"]})


def run_cells(cells: list[tuple[str, TrainConfig]], cache: Cache, executor: Executor | None = None,
              jobs: int = 1, progress: bool = True, label: str = "cells") -> list[dict]:
    """Results of every (kind, config) cell, in order, computing only those not in the cache."""
    keys = [cell_key(kind, cfg) for kind, cfg in cells]
    results: list[dict | None] = [cache.load(k) for k in keys]
    todo = {}
    for i, (key, res) in enumerate(zip(keys, results)):
        if res is None:
            todo.setdefault(key, []).append(i)  # identical cells are computed once
    if not todo:
        return results
    bar = _progress(len(todo), label) if progress else None

    def finish(key, out):
        kind, cfg = cells[todo[key][0]]
        cache.save(key, kind, cfg, out)
        for i in todo[key]:
            results[i] = out
        if bar is not None:
            bar.update(1)

    own = None
    if executor is None and jobs > 1:
        executor = own = ProcessPoolExecutor(max_workers=jobs, initializer=_one_blas_thread)
    try:
        if executor is None:
            for key, idx in todo.items():
                finish(key, _run_one(*cells[idx[0]]))
        else:
            futures = {executor.submit(_run_one, *cells[idx[0]]): key for key, idx in todo.items()}
            for fut in as_completed(futures):
                finish(futures[fut], fut.result())
    finally:
        if own is not None:
            own.shutdown(cancel_futures=True)
        if bar is not None:
            bar.close()
    return results


def _one_blas_thread() -> None:
    """Worker processes use one BLAS thread each: `jobs` workers with several threads each oversubscribe
    the cores, and OpenBLAS then spends most of its time spinning (seen: 60x slower small products)."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)


def _progress(total: int, label: str):
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is a dependency; without it, no bar
        return None
    return tqdm(total=total, desc=label, unit="cell", leave=False)


def dask_executor(address: str) -> Executor:
    """An Executor on the dask.distributed scheduler at `address` (needs the `dask` extra)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise FldmError("--scheduler needs dask: pip install -e '.[dask]'") from None
    try:
        return Client(address, timeout=10).get_executor()
    except OSError as exc:
        raise FldmError(f"cannot reach the dask scheduler at {address}: {exc}") from None
