"""Progress bars on stderr for long work: only on a terminal, only once the work has lasted DELAY
seconds, never with --no-progress. Pipes, files and CI logs (stderr not a terminal) get no bar at
all.

    bar(total, desc)                    a tqdm bar, or None (the sweeps of fldm reproduce / mnist)
    with counting(total, desc) as cb:   cb(k) moves a bar to position k (fldm train / ode: the step
        reached)
    with elapsed(desc):                 the elapsed time, for work of unknown length (fldm predict)
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager

from tqdm import tqdm

DELAY = 2.0  # seconds of work before a bar appears: quick commands print nothing
TICK = 0.5  # seconds between redraws of an `elapsed` bar


def bar(
    total: int | None, desc: str, *, enabled: bool = True, unit: str = "it", **options
) -> tqdm | None:
    """A tqdm bar (`options` go to tqdm), or None when disabled or when stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        return None
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        delay=DELAY,
        leave=False,
        file=sys.stderr,
        dynamic_ncols=True,
        **options,
    )


@contextmanager
def counting(total: int, desc: str, *, enabled: bool = True, unit: str = "step"):
    """Yields progress(k), which moves a bar of `total` to position k (clipped to total; it never
    moves back), or None when there is no bar."""
    b = bar(total, desc, enabled=enabled, unit=unit)
    if b is None:
        yield None
        return

    def progress(k):
        k = min(int(k), total)
        if k > b.n:
            b.update(k - b.n)

    try:
        yield progress
    finally:
        b.close()


@contextmanager
def elapsed(desc: str, *, enabled: bool = True):
    """A bar that shows the elapsed time, redrawn every TICK seconds by a background thread until
    the block ends (for work whose length is not known in advance)."""
    b = bar(None, desc, enabled=enabled, bar_format="{desc}: working, {elapsed} elapsed")
    if b is None:
        yield
        return
    stop = threading.Event()

    def tick():
        while not stop.wait(TICK):
            b.update(0)  # draws once DELAY has passed

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        b.close()
