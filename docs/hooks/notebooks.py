"""The notebooks: plain-text sources (jupytext's percent format, notebooks/*.py) executed into
build/notebooks/NAME.ipynb, and turned into Markdown pages with their outputs for the site.

    python docs/hooks/notebooks.py [NAME.py ...]    execute (all by default), print each run time

An executed notebook records a SHA-256 of its source and of the package's code; the site's hook
(docs/hooks/pages.py) reuses it while neither has changed and executes it again otherwise, so
`mkdocs build` after this command runs nothing twice. A cell that raises stops the build with the
cell's error. Kernels run with one BLAS thread (the notebooks are sized for one core).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "notebooks"
BUILD = ROOT / "build" / "notebooks"
PACKAGES = ("sims", "theory")  # the code the notebooks run
CELL_TIMEOUT = 600  # seconds: a guard against a hung cell, not a speed requirement
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def source_hash(source: Path) -> str:
    """A SHA-256 of the notebook's source and of the code it runs (sims/, theory/), so that an
    executed notebook is reused only while neither has changed."""
    h = hashlib.sha256(source.read_bytes())
    for path in sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")):
        h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def executed(source: Path, force: bool = False):
    """The executed notebook (nbformat) of `source`: read from BUILD when it was executed from this
    very source, else executed now (from the repository's root) and written there."""
    import jupytext
    import nbformat

    target = BUILD / f"{source.stem}.ipynb"
    digest = source_hash(source)
    if target.is_file() and not force:
        nb = nbformat.read(target, as_version=4)
        if nb.metadata.get("fldm", {}).get("source_sha256") == digest:
            return nb
    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    BUILD.mkdir(parents=True, exist_ok=True)
    saved = {k: os.environ.get(k) for k in ONE_THREAD}
    os.environ.update(ONE_THREAD)  # the kernel inherits this process's environment
    start = time.perf_counter()
    try:  # local sockets (ipc) rather than TCP on localhost, in a folder removed afterwards
        with tempfile.TemporaryDirectory() as sockets:
            kernel = KernelManager(kernel_name="python3", transport="ipc", ip=f"{sockets}/k")
            try:
                NotebookClient(
                    nb, timeout=CELL_TIMEOUT, km=kernel, resources={"metadata": {"path": str(ROOT)}}
                ).execute()
            finally:  # the client leaves a kernel it was given running
                if kernel.has_kernel:
                    kernel.shutdown_kernel()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    nb.metadata["fldm"] = {
        "source_sha256": digest,
        "seconds": round(time.perf_counter() - start, 1),
    }
    nbformat.write(nb, target)
    return nb


def fence(text: str, lang: str = "") -> str:
    """A fenced code block that no backtick run inside `text` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def to_markdown(nb, stem: str) -> tuple[str, dict[str, bytes]]:
    """(the page's Markdown, {file name: PNG bytes} of its figures, to be placed beside it as
    STEM_files/...). Markdown cells as they are, code cells as Python blocks, text outputs as text
    blocks, figures as images; a cell's stderr (warnings) is shown like its stdout."""
    parts, images = [], {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            parts.append(cell.source)
            continue
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        parts.append(fence(cell.source, "python"))
        stream = ""  # consecutive stream outputs (one per print, at times) make one block
        for k, output in enumerate(cell.get("outputs", [])):
            kind = output.get("output_type")
            if kind == "stream":
                stream += output["text"]
                continue
            if stream:
                parts.append(fence(stream, "text"))
                stream = ""
            if kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                if "image/png" in data:
                    name = f"{stem}_files/cell{index}_{k}.png"
                    images[name] = base64.b64decode(data["image/png"])
                    parts.append(f"![output of cell {index}]({name})")
                elif "text/markdown" in data:
                    parts.append(data["text/markdown"])
                elif "text/plain" in data:
                    parts.append(fence(data["text/plain"], "text"))
        if stream:
            parts.append(fence(stream, "text"))
    return "\n\n".join(parts) + "\n", images


def main(argv: list[str]) -> int:
    sources = [SOURCES / a for a in argv] if argv else sorted(SOURCES.glob("*.py"))
    for source in sources:
        start = time.perf_counter()
        nb = executed(source, force=True)
        print(
            f"{source.relative_to(ROOT)}: {time.perf_counter() - start:.1f} s "
            f"({nb.metadata['fldm']['seconds']} s in the kernel)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
