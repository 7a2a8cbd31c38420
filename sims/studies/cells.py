"""A sweep cell as a typed record: what one run of a study computed, as the cache stores and the
studies read it.

A cell is (kind, configuration): its kind names the function that computes it
(`sims.studies.sweep`'s `CELL_KINDS`), its configuration (a TrainConfig, or a study's own frozen
dataclass with `to_dict()`) says what to compute. The function returns an `Outcome` (a JSON-able
summary and named arrays); the sweep keeps it as a `Cell` with the kind and the configuration. A run
that diverged has no arrays and only the key DIVERGED in its summary, holding the error's message
(the on-disk format of the cache, KEY.json + KEY.npz).

Studies read a finished train, ode or probe cell through `Cell.run` (the typed summary `Run`) and
`Cell.trace` (the logged arrays `Trace`), never by string keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from sims import __version__
from sims.models import summarize

DIVERGED = "diverged"  # the summary key of a diverged run (part of the cached cells' JSON)
FINISHED = "finished"


def cell_seed(base_seed: int, *identity) -> int:
    """A 32-bit seed from the base seed and a JSON-able identity (e.g. ("ratio", "diffusion", 0.75,
    1))."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).digest()
    words = np.frombuffer(digest[:16], dtype=np.uint32).tolist()
    return int(np.random.SeedSequence([base_seed, *words]).generate_state(1)[0])


def cell_key(kind: str, cfg) -> str:
    """The cache key: a hash of the kind, the full configuration and the package version."""
    return key_of(kind, cfg.to_dict())


def key_of(kind: str, config: dict, version: str = __version__) -> str:
    """The cache key from a configuration as a dict: `to_dict()`'s, or as a cached cell's json holds
    it (the same JSON text), so a cell's key can be checked against its file name."""
    payload = json.dumps({"kind": kind, "config": config, "version": version}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


class Outcome(NamedTuple):
    """What a cell kind's function returns: a JSON-able summary and named arrays."""

    summary: dict
    arrays: dict

    @classmethod
    def diverged(cls, message: str) -> Outcome:
        """The outcome of a run that diverged: no arrays, and a summary holding only the message."""
        return cls({DIVERGED: message}, {})


class Run(NamedTuple):
    """The summary of a finished train, ode or probe cell (sims.train.Result.summary): the headline
    alignments at the last logged step, and what descent did. Settings a model does not report are
    None (test errors: the classifier's)."""

    signal: float
    noise: float
    ratio: float
    per_feature: tuple
    eta: float
    steps_run: int
    final_loss: float
    final_grad_norm: float
    test_error: float | None
    test_error_by_class: tuple | None

    @classmethod
    def of(cls, summary: dict) -> Run:
        return cls(
            signal=summary["signal"],
            noise=summary["noise"],
            ratio=summary["ratio"],
            per_feature=tuple(summary["per_feature"]),
            eta=summary["eta"],
            steps_run=summary["steps_run"],
            final_loss=summary["final_loss"],
            final_grad_norm=summary["final_grad_norm"],
            test_error=summary.get("test_error"),
            test_error_by_class=summary.get("test_error_by_class"),
        )


class Trace(NamedTuple):
    """The logged arrays of a finished train, ode or probe cell (`pack`): T logged steps."""

    steps: np.ndarray  # (T,)
    loss: np.ndarray
    grad_norm: np.ndarray
    signal: np.ndarray  # (T, *weight shape[:-1], F) alignments with the signal vectors
    noise: np.ndarray  # (T, *weight shape[:-1], n) alignments with the noise patches
    signal_max: np.ndarray  # (T,) the headline summaries (sims.models: `summary`)
    noise_max: np.ndarray
    feature_max: np.ndarray  # (T, K) the signal summary of each feature


@dataclass(frozen=True)
class Cell:
    """One computed cell: its kind, its configuration (as stored: the config's `to_dict()` in plain
    JSON values), its JSON summary and its arrays; `status` is FINISHED or DIVERGED (then `message`
    says why)."""

    kind: str
    config: dict
    summary: dict
    arrays: dict

    @property
    def status(self) -> str:
        return DIVERGED if DIVERGED in self.summary else FINISHED

    @property
    def finished(self) -> bool:
        return self.status == FINISHED

    @property
    def message(self) -> str | None:
        """The error message of a run that diverged; None for a finished one."""
        return self.summary.get(DIVERGED)

    @property
    def run(self) -> Run:
        """The typed summary of a finished train, ode or probe cell."""
        return Run.of(self.summary)

    @property
    def trace(self) -> Trace:
        """The logged arrays of a finished train, ode or probe cell."""
        return Trace(**{name: self.arrays[name] for name in Trace._fields})


def pack(result, model: str) -> Outcome:
    """Arrays and summary of a sims.train.Result, with the headline summary at every logged step
    (and the signal summary of each feature, `feature_max` (T, K))."""
    per_step = [summarize(model, s, z, result.data.y) for s, z in zip(result.signal, result.noise)]
    arrays = {
        "steps": result.steps,
        "loss": result.loss,
        "grad_norm": result.grad_norm,
        "signal": result.signal,
        "noise": result.noise,
        "signal_max": np.array([p.signal for p in per_step]),
        "noise_max": np.array([p.noise for p in per_step]),
        "feature_max": np.array([p.per_feature for p in per_step]),
    }
    return Outcome(result.summary(), arrays)


class Study(NamedTuple):
    """The cells a group of claims reads, and the numbers it computes from them once.

    cells(preset_name, seed) -> {name: (kind, config)}: the sweep cells for a preset (empty: not
    run) measure(preset_name, results, seed) -> the study's numbers, from {name: Cell}
    """

    name: str
    cells: Callable[[str, int], dict]
    measure: Callable[..., Any]
