"""Atomic result files: write to a temporary file in the same folder, then rename over the target."""
from __future__ import annotations

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
    """Strict JSON text (NaN and infinities become null; numpy arrays and scalars become plain values)."""
    return json.dumps(_finite(obj), indent=2, sort_keys=True, default=_jsonable, allow_nan=False)


def write_json(path: str | Path, obj) -> None:
    text = to_json(obj) + "\n"
    _atomic(Path(path), lambda f: f.write(text.encode()))


def write_figure(path: str | Path, fig, dpi: int = 110) -> None:
    """A matplotlib figure as PNG."""
    _atomic(Path(path), lambda f: fig.savefig(f, format="png", dpi=dpi))


def write_text(path: str | Path, text: str) -> None:
    _atomic(Path(path), lambda f: f.write(text.encode()))


def _finite(x):
    """NaN and infinities become null: strict JSON has no such numbers."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, np.ndarray):
        return _finite(x.tolist())
    if isinstance(x, (float, np.floating)) and not np.isfinite(x):
        return None
    return x


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot write {type(x).__name__} as JSON")
