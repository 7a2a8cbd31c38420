"""Progress of long work on stderr: a bar on a terminal, status lines in a log.

On a terminal (stderr is a tty) a tqdm bar appears once the work has lasted DELAY seconds. Anywhere
else (a pipe, a file, CI) a status line is printed at most every EVERY seconds, none in the first
EVERY, so short commands print nothing:

    fldm: reproduce: 12/40 cells, 1:30 elapsed

`--no-progress` turns both off. A sweep (`run_cells`) adds the cells it computed and found in the
cache to the running command's tally (`record_cells`), and the command ends with one line of it, on
a terminal too; `--quiet` turns the progress and that line off (errors and notes still print).

    bar(total, desc)                  a tqdm bar, `Lines` or None (the sweeps of reproduce, mnist)
    with counting(total, desc) as cb: cb(k) moves a bar to position k (train, ode: the step reached)
    with elapsed(desc):               the elapsed time, for work of unknown length (fldm predict)
    with command(quiet):              one command's clock and tally of cells (sims.cli)
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

from tqdm import tqdm

DELAY = 2.0  # seconds of work before a bar appears: quick commands print nothing
TICK = 0.5  # seconds between redraws of an `elapsed` bar, and between checks for a status line
EVERY = 30.0  # seconds between status lines in a log (stderr not a terminal), and before the first
WATCH = 1.0  # seconds between a status line's checks while nothing moves (None: no checks)
CLOCK = time.monotonic  # the clocks of status lines


def clock_text(seconds: float) -> str:
    """Elapsed time as m:ss, or h:mm:ss from an hour on."""
    s = int(seconds)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


class Log:
    """One command's status lines on a stream that is not a terminal: `status` prints at most one
    line every `every` seconds of `clock` (default CLOCK; none in the first `every`), and `cells`
    holds the keys of the cells its sweeps computed, found damaged, and read from the cache. The
    stream is looked up when a line is written (default sys.stderr)."""

    def __init__(self, stream=None, clock=None, every: float | None = None):
        self.stream, self.clock = stream, clock or CLOCK
        self.every = EVERY if every is None else every
        self.start = self.last = self.clock()
        self.cells: dict[str, set] = {"computed": set(), "damaged": set(), "cached": set()}
        self.lock = threading.Lock()

    def elapsed(self) -> str:
        return clock_text(self.clock() - self.start)

    def write(self, text: str) -> None:
        print(f"fldm: {text}", file=self.stream or sys.stderr, flush=True)

    def status(self, text: str) -> bool:
        """Print 'fldm: TEXT, M:SS elapsed' if `every` seconds have passed since the last line (or
        the start); whether it did."""
        with self.lock:
            now = self.clock()
            if now - self.last < self.every:
                return False
            self.last = now
            self.write(f"{text}, {self.elapsed()} elapsed")
            return True

    def summary(self) -> str | None:
        """The cells' line for the end of the command, or None if no sweep ran. A cell computed by
        one sweep and read back by a later one of the same command counts as computed."""
        computed = self.cells["computed"]
        cached = self.cells["cached"] - computed
        if not computed and not cached:
            return None
        damaged = len(self.cells["damaged"])
        note = f" ({damaged} of them damaged in the cache)" if damaged else ""
        return (
            f"{len(computed) + len(cached)} cells: {len(computed)} computed{note}, "
            f"{len(cached)} from the cache; {self.elapsed()} elapsed"
        )


class Lines:
    """A bar's stand-in in a log: `update(k)` moves it on by k and prints a status line when one is
    due; a thread checks every `tick` seconds (None: no thread), so that a line comes also while
    nothing moves."""

    def __init__(
        self, total: int | None, desc: str, unit: str, log: Log, tick: float | None = None
    ):
        self.total, self.desc, self.unit, self.log, self.n = total, desc, unit, log, 0
        self.stop = threading.Event()
        self.thread = None
        if tick is not None:
            self.thread = threading.Thread(target=self._watch, args=(tick,), daemon=True)
            self.thread.start()

    def text(self) -> str:
        if self.total is None:
            return f"{self.desc}: working"
        return f"{self.desc}: {self.n}/{self.total} {self.unit}s"

    def update(self, k: int = 1) -> None:
        self.n += k
        self.log.status(self.text())

    def _watch(self, tick: float) -> None:
        while not self.stop.wait(tick):
            self.log.status(self.text())

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


_command: Log | None = None  # the running command's (see `command`)


@contextmanager
def command(quiet: bool = False, log: Log | None = None):
    """One command: its status lines share one clock and one tally of cells, and when it ends
    without an error the tally's line is printed, unless `quiet`. Yields the Log."""
    global _command
    outer, _command = _command, log or Log()
    try:
        yield _command
        line = _command.summary()
        if line is not None and not quiet:
            _command.write(line)
    finally:
        _command = outer


def record_cells(computed, cached, damaged=()) -> None:
    """Add one sweep's cells, as collections of their cache keys, to the running command's tally
    (nothing outside a command): `computed` run now (`damaged` among them because their cached files
    were damaged), `cached` read back."""
    if _command is not None:
        for name, keys in (("computed", computed), ("cached", cached), ("damaged", damaged)):
            _command.cells[name].update(keys)


def bar(
    total: int | None, desc: str, *, enabled: bool = True, unit: str = "it", **options
) -> tqdm | Lines | None:
    """A tqdm bar on a terminal (`options` go to tqdm), status `Lines` elsewhere, None when
    disabled."""
    if not enabled:
        return None
    if not sys.stderr.isatty():
        return Lines(total, desc, unit, _command or Log(), tick=WATCH)
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
    the block ends (for work whose length is not known in advance); in a log, `Lines` with no
    total."""
    b = bar(None, desc, enabled=enabled, bar_format="{desc}: working, {elapsed} elapsed")
    if b is None:
        yield
        return
    stop = threading.Event()

    def tick():
        while not stop.wait(TICK):
            b.update(0)  # draws once DELAY has passed

    thread = None
    if not isinstance(b, Lines):  # Lines check the clock themselves
        thread = threading.Thread(target=tick, daemon=True)
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread is not None:
            thread.join()
        b.close()
