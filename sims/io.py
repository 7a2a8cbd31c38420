"""Atomic result files: write to a temporary file in the same folder, then rename over the target;
and `claim`, which holds an output folder for one writer, so that files written together stay
together."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from sims import FldmError

try:
    import fcntl
except ImportError:  # not POSIX: folders are not locked
    fcntl = None


_UMASK = os.umask(0)
os.umask(_UMASK)


_WRITING: set[str] = set()  # temporary files being written; `abandon` removes them
_HELD: dict[str, list] = {}  # folders this process holds -> the folders claim created for them


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    _WRITING.add(tmp)
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
    finally:
        _WRITING.discard(tmp)


def _remove_empty(folders: list) -> None:
    for p in folders:  # deepest first; only empty folders go
        try:
            p.rmdir()
        except OSError:
            break


def abandon() -> None:
    """Remove the temporary files being written and the empty folders claimed here: for a process
    about to exit without unwinding (sims.cli, when a stop signal's exception was swallowed)."""
    for tmp in list(_WRITING):
        Path(tmp).unlink(missing_ok=True)
    for created in list(_HELD.values()):
        _remove_empty(created)


@contextmanager
def claim(folder: str | Path):
    """Hold `folder` while a run writes into it: it is created if missing (and removed again, with
    the parents created for it, if it is still empty when released), and locked (flock on the
    folder) so that a second process claiming it fails at once with "FOLDER is being written by
    another run". A process may claim a folder it holds again (the inner claim does nothing)."""
    folder = Path(folder)
    key = os.path.realpath(folder)
    if key in _HELD or fcntl is None:
        yield folder
        return
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise FldmError(
            f"{folder} exists and is not a folder; choose another output folder"
        ) from None
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise FldmError(
            f"{folder} is being written by another run; wait for it to finish or choose another "
            f"output folder"
        ) from None
    _HELD[key] = created
    try:
        yield folder
    finally:
        _remove_empty(created)  # while still locked
        del _HELD[key]
        os.close(fd)


def arrays_sha256(arrays: dict) -> str:
    """A SHA-256 of named arrays' contents (names, dtypes, shapes, bytes), as hex: the same for the
    same arrays however they were saved (an .npz's own bytes carry zip timestamps)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(json.dumps([name, a.dtype.str, a.shape]).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def numpy_file_kind(path: str | Path) -> str | None:
    """ "npy" (numpy.save's header), "npz" (a zip archive, as numpy.savez writes) or None, from the
    file's first bytes: checked before numpy reads a user's file, since numpy takes anything else
    for pickled data and suggests loading it unsafely."""
    with open(path, "rb") as fh:
        head = fh.read(6)
    return "npy" if head == b"\x93NUMPY" else "npz" if head.startswith(b"PK") else None


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    _atomic(Path(path), lambda f: np.savez(f, **arrays))


def to_json(obj) -> str:
    """Strict JSON text of `plain(obj)`, NaN and infinities written as null (strict JSON has no such
    numbers)."""
    return json.dumps(_finite(plain(obj)), indent=2, sort_keys=True, allow_nan=False)


def write_json(path: str | Path, obj) -> None:
    text = to_json(obj) + "\n"
    _atomic(Path(path), lambda f: f.write(text.encode()))


def write_figure(path: str | Path, fig, dpi: int = 110) -> None:
    """A matplotlib figure as PNG, the same bytes on every run: no software version in its metadata
    (and PNGs carry no date)."""
    _atomic(
        Path(path), lambda f: fig.savefig(f, format="png", dpi=dpi, metadata={"Software": None})
    )


def write_text(path: str | Path, text: str) -> None:
    _atomic(Path(path), lambda f: f.write(text.encode()))


def plain(x):
    """Nested dicts and lists of plain Python values: numpy arrays become lists, numpy scalars
    Python numbers, tuples lists, named tuples and dataclasses dicts, paths strings (NaN stays a
    float)."""
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


REPORT_DIGITS = 6  # significant digits of the numbers in a study's tracked reports (`rounded`)


def rounded(obj, digits: int = REPORT_DIGITS):
    """obj with every float rounded to `digits` significant digits (dicts, lists and tuples kept as
    they are; arrays, named tuples and dataclasses as `plain` makes them): a study's reported
    numbers, whose last digits can vary with the platform and the order of floating-point
    operations, so that a rerun writes the same text."""
    if (
        isinstance(obj, (np.ndarray, np.generic))
        or hasattr(obj, "_asdict")
        or (dataclasses.is_dataclass(obj) and not isinstance(obj, type))
    ):
        obj = plain(obj)
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(rounded(v, digits) for v in obj)
    if isinstance(obj, float) and np.isfinite(obj):
        return float(f"{obj:.{digits}g}")
    return obj


def _finite(x):
    """NaN and infinities become None, in plain nested dicts and lists."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x
