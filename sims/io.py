"""Atomic result files: write to a temporary file in the same folder, then rename over the target;
`together`, which replaces a set of files only once every new one is complete; `claim`, which holds
an output folder for one writer, so that files written together stay together; and the checks of a
user's paths and numpy files made before anything is read or written (`regular_file`, `make_folder`,
`npz_arrays`, `npy_array`). An error writing a file names the file, never its temporary name."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import math
import os
import stat
import tempfile
import zipfile
from contextlib import contextmanager, nullcontext
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
_STAGED: list | None = None  # (temporary file, target) written inside `together`, not yet renamed


def _named(exc: OSError, path: Path) -> OSError:
    """exc about `path` (the target), not about the temporary file it was being written to."""
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


def _atomic(path: Path, write, now: bool = False) -> None:
    path = Path(path)
    make_folder(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _named(exc, path) from None
    _WRITING.add(tmp)
    staged = False
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results are ordinary files
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if _STAGED is not None and not now:
            _STAGED.append((tmp, path))
            staged = True
        else:
            os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _named(exc, path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        if not staged:
            _WRITING.discard(tmp)


@contextmanager
def together(marker: str | Path | None = None, guard=nullcontext):
    """Write the files of the block as one set: each write (but those made with now=True, e.g.
    cache cells) goes to a complete temporary file beside its target, and the targets are replaced
    only when the block ends without an error; on an error (a full disk, a signal) the temporary
    files are removed and every earlier file stays as it was. Nested blocks join the outermost one.

    `marker` is the file that says the set is complete (a result pair's json): an earlier one is
    removed before the first rename and the new one is renamed last, so that at every instant a
    reader sees the earlier set, or no marker (a set being replaced), or the new set; a process
    killed while renaming (a few milliseconds, inside `guard()`, e.g. with stop signals deferred)
    leaves no marker, and the temporary files of the renames not done.
    """
    global _STAGED
    if _STAGED is not None:  # the outer block commits
        yield
        return
    _STAGED = staged = []
    try:
        yield
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
            _WRITING.discard(tmp)
        raise
    finally:
        _STAGED = None
    marker = None if marker is None else Path(marker)
    last = [item for item in staged if marker is not None and item[1] == marker]
    with guard():
        try:
            if marker is not None:
                marker.unlink(missing_ok=True)
            for tmp, path in [item for item in staged if item not in last] + last:
                os.replace(tmp, path)
                _WRITING.discard(tmp)
        except OSError as exc:
            for tmp, _ in staged:
                Path(tmp).unlink(missing_ok=True)
                _WRITING.discard(tmp)
            raise _named(exc, Path(exc.filename2 or exc.filename or "")) from None


def describe(path: Path) -> str | None:
    """What `path` is, in words ("a folder", "a file", "a pipe (fifo)", "a device", "a socket", "a
    symbolic link to a missing file", "a loop of symbolic links"), or None if nothing is there."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a symbolic link to a missing file" if path.is_symlink() else None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a loop of symbolic links"
        if exc.errno == errno.ENOTDIR:
            return None  # a file on its way: said of that file
        raise
    kinds = {
        stat.S_ISDIR: "a folder",
        stat.S_ISREG: "a file",
        stat.S_ISFIFO: "a pipe (fifo)",
        stat.S_ISCHR: "a device",
        stat.S_ISBLK: "a device",
        stat.S_ISSOCK: "a socket",
    }
    return next(name for test, name in kinds.items() if test(mode))


def _in_the_way(folder: Path) -> str | None:
    """Why `folder` cannot be created (or used): the nearest existing path on it is no folder."""
    for p in (folder, *folder.parents):
        what = describe(p)
        if what == "a folder":
            return None
        if what is not None:
            where = "" if p == folder else f"; it would hold {folder}"
            return f"{p} is {what}, not a folder{where}: choose another folder"
    return None


def make_folder(folder: str | Path) -> None:
    """Create `folder` and its parents, or raise FldmError naming what stands in the way."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return
    except (FileExistsError, NotADirectoryError, OSError) as exc:
        why = _in_the_way(folder)
        if why is None:
            raise _named(exc, folder) from None
    raise FldmError(why)


def check_folder(folder: str | Path, what: str) -> None:
    """Refuse, before any work, a folder that could not be created: empty, or something other than
    a folder in its way."""
    if str(folder) == "":
        raise FldmError(f"{what} is empty; give a folder name")
    why = _in_the_way(Path(folder))
    if why is not None:
        raise FldmError(f"{what} {why}")


def regular_file(path: str | Path, what: str) -> Path:
    """`path` if it names a regular file (or a link to one); else FldmError saying what it is:
    missing, a folder, a pipe, a device, a broken or looping symbolic link. A pipe or a device is
    refused because reading one may never end (/dev/zero)."""
    if str(path) == "":
        raise FldmError(f"{what} is empty; give a file name")
    path = Path(path)
    try:
        kind = describe(path)
    except OSError as exc:
        raise FldmError(f"{what} {path} cannot be read: {exc.strerror}") from None
    if kind is None:
        raise FldmError(f"{what} {path} does not exist")
    if kind != "a file":
        raise FldmError(f"{what} {path} is {kind}, not a file")
    return path


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
    make_folder(folder)
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


def machine_memory() -> int | None:
    """The machine's physical memory in bytes (None where the system does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


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
    zipped = head[:4] in (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive
    return "npy" if head == b"\x93NUMPY" else "npz" if zipped else None


def _header(f, where: str) -> tuple[tuple, np.dtype, int]:
    """(shape, dtype, bytes of the array) from the .npy header at f's position."""
    try:
        version = np.lib.format.read_magic(f)
        read = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }
        shape, _, dtype = read[version](f) if version in read else read[(2, 0)](f)
    except Exception as exc:  # not an .npy header, an unknown version, a malformed header
        raise FldmError(f"{where} is not an array saved by numpy ({exc})") from None
    if dtype.hasobject:
        raise FldmError(f"{where} holds Python objects (pickled data), not numbers")
    return tuple(shape), dtype, math.prod(shape) * dtype.itemsize


def npy_array(path: Path) -> tuple[tuple, np.dtype]:
    """(shape, dtype) of the array in an .npy file, from its header, checked against the file's size
    before anything is loaded: a header promising more than the file holds is refused."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        shape, dtype, nbytes = _header(f, str(path))
        have = size - f.tell()
    if have != nbytes:
        raise FldmError(
            f"{path} is damaged: its header promises a {shape} array of {dtype} ({nbytes} bytes), "
            f"the file holds {have} bytes"
        )
    return shape, dtype


def npz_arrays(path: Path, keys=None) -> dict[str, tuple[tuple, np.dtype] | None]:
    """{key: (shape, dtype)} of the arrays in an .npz archive, read from the .npy headers inside it
    without inflating the arrays (a small archive can inflate to gigabytes): each member's stated
    size must be its header's. Only the `keys` given (all if None) are read; the others map to None.
    The caller checks keys and shapes before loading anything."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FldmError(f"cannot read {path} as an .npz file: {exc}") from None
    found = {}
    with zf:
        for info in zf.infolist():
            key = info.filename.removesuffix(".npy")
            if keys is not None and key not in keys:
                found[key] = None
                continue
            where = f"{path}: {key}"
            try:
                with zf.open(info) as f:
                    shape, dtype, nbytes = _header(f, where)
                    start = f.tell()
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
                raise FldmError(f"{where} cannot be read: {exc}") from None
            if info.file_size != start + nbytes:
                raise FldmError(
                    f"{where} is damaged: its header promises {nbytes} bytes, the archive holds "
                    f"{info.file_size - start}"
                )
            found[key] = (shape, dtype)
    return found


def write_npz(path: str | Path, now: bool = False, **arrays: np.ndarray) -> None:
    _atomic(Path(path), lambda f: np.savez(f, **arrays), now)


def to_json(obj) -> str:
    """Strict JSON text of `plain(obj)`, NaN and infinities written as null (strict JSON has no such
    numbers)."""
    return json.dumps(_finite(plain(obj)), indent=2, sort_keys=True, allow_nan=False)


def write_json(path: str | Path, obj, now: bool = False) -> None:
    text = to_json(obj) + "\n"
    _atomic(Path(path), lambda f: f.write(text.encode()), now)


def write_figure(path: str | Path, fig, dpi: int = 110, now: bool = False) -> None:
    """A matplotlib figure as PNG, the same bytes on every run: no software version in its metadata
    (and PNGs carry no date)."""
    save = lambda f: fig.savefig(f, format="png", dpi=dpi, metadata={"Software": None})
    _atomic(Path(path), save, now)


def write_text(path: str | Path, text: str, now: bool = False) -> None:
    _atomic(Path(path), lambda f: f.write(text.encode()), now)


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


# The resolutions `resolved` is given (powers of ten). What sits below one is rounding, not result:
GAP_RESOLUTION = 1e-9  # a relative gap between two runs that each stopped at a gradient tolerance
GRAD_RESOLUTION = 1e-10  # a gradient norm ||grad L|| of a run whose tolerance is not at hand


def resolved(value, resolution: float):
    """A number whose last digits are rounding, as the tracked outputs (report.json, REPORT.md,
    figures) state it; the one place that decides how.

    `resolution` (a power of ten) is the smallest difference the computation determines: a gradient
    tolerance the run stopped at, or GAP_RESOLUTION for a relative gap between two such runs. Below
    it the value is its bound class, the string "< 1e-9"; at or above it, the value rounded to the
    significant digits that stand above the resolution (1 to REPORT_DIGITS): 3.7272e-4 at 1e-9,
    4.9e-6 at 1e-7. None, NaN and infinities are returned as they are. On another machine (another
    BLAS kernel, another thread count) a value at rounding level moves in its last digits, and its
    bound class does not."""
    exponent = math.log10(resolution)
    if resolution <= 0 or abs(exponent - round(exponent)) > 1e-12:
        raise ValueError(f"a resolution is a power of ten, got {resolution!r}")
    if value is None or not math.isfinite(value):
        return value
    if abs(value) < resolution:
        return f"< 1e{round(exponent)}"
    digits = min(REPORT_DIGITS, max(1, math.floor(math.log10(abs(value) / resolution))))
    return float(f"{value:.{digits}g}")


def _finite(x):
    """NaN and infinities become None, in plain nested dicts and lists."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x
