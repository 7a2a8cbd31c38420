"""Atomic result files: write to a temporary file in the same folder, then rename over the target."""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import numpy as np


_UMASK = os.umask(0)
os.umask(_UMASK)


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are ordinary files
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    _atomic(Path(path), lambda f: np.savez(f, **arrays))


def to_json(obj) -> str:
    """Strict JSON text of `plain(obj)`, NaN and infinities written as null (strict JSON has no such numbers)."""
    return json.dumps(_finite(plain(obj)), indent=2, sort_keys=True, allow_nan=False)


def write_json(path: str | Path, obj) -> None:
    text = to_json(obj) + "\n"
    _atomic(Path(path), lambda f: f.write(text.encode()))


def write_figure(path: str | Path, fig, dpi: int = 110) -> None:
    """A matplotlib figure as PNG."""
    _atomic(Path(path), lambda f: fig.savefig(f, format="png", dpi=dpi))


def write_text(path: str | Path, text: str) -> None:
    _atomic(Path(path), lambda f: f.write(text.encode()))


def plain(x):
    """Nested dicts and lists of plain Python values: numpy arrays become lists, numpy scalars Python
    numbers, tuples lists, named tuples and dataclasses dicts, paths strings (NaN stays a float)."""
    if hasattr(x, "_asdict"):
        return plain(x._asdict())
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return plain({f.name: getattr(x, f.name) for f in dataclasses.fields(x)})
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return plain(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    raise TypeError(f"cannot write {type(x).__name__} as JSON")


def _finite(x):
    """NaN and infinities become None, in plain nested dicts and lists."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x
