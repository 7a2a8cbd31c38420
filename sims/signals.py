"""Stop signals for the command line: SIGINT, SIGTERM and SIGHUP end a command with one line saying
what is on disk, and exit codes 130, 143 and 129 (128 + the signal's number), whenever they arrive.

This module imports only the standard library, so that `fldm` installs its handlers
(`install_early`) before it imports numpy and the rest (sims.cli when it is the `fldm` program,
sims/__main__.py for `python -m sims`): a signal during those imports ends the command with its
line, not a traceback. The signals stay blocked during those imports and are unblocked when the
command starts (`unblock`), so that the threads the imports start (OpenBLAS's) inherit them blocked
and every signal reaches the main thread: CPython (3.11) loses a signal whose C handler runs in a
thread that never runs Python, which two signals 1 ms apart made happen (the process ran on,
ignoring both). A signal sent during the imports is handled when they are done, a fraction of a
second later. The interpreter's own start-up (its `site` module, tens of milliseconds) comes before
any of this and keeps Python's default handlers.

What a signal does depends on where the command is:
  * inside the command (`StopSignals.raising`): it raises KeyboardInterrupt or Stopped in the main
    thread, so that files being written are removed as the stack unwinds (sims.io) and sims.cli
    prints the line; inside `deferred()` it waits until the block is done (a result pair is written
    whole). An exception raised in a handler can be lost (inside an extension module's import, say),
    so each stop also starts a timer that, GRACE seconds later, removes those files itself
    (io.abandon) and exits.
  * before (imports, parsing) or after it (the outcome is printed): it prints the line and exits at
    once; nothing is being written then.
Only the first signal counts: one arriving while the command stops (two signals 1 ms apart, say) is
ignored, so the line is printed once and no handler raises into the code printing it.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading
from contextlib import contextmanager
from types import SimpleNamespace

SIGNALS = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}  # exit code 128 + signal number
GRACE = 5.0  # seconds a stopped command has to unwind before it exits anyway


class Stopped(BaseException):
    """A termination signal, raised in the main thread so files being written are cleaned up."""

    def __init__(self, name: str, code: int):
        super().__init__(name)
        self.name, self.code = name, code


def stop_line(name: str) -> str:
    """The line's beginning for the signal `name` ("fldm: interrupted" for SIGINT)."""
    return "fldm: interrupted" if name == "SIGINT" else f"fldm: stopped by {name}"


class StopSignals:
    """Handlers for SIGINT, SIGTERM and SIGHUP (those not ignored, e.g. by nohup); see the module
    docstring. `args.on_disk` says what is on disk; `raising` is True while a command runs (the
    handlers `install_early` installs start with it False)."""

    def __init__(self, args=None, raising: bool = True):
        self.args = args if args is not None else SimpleNamespace(on_disk="nothing was written")
        self.timers, self.previous = [], {}
        self.deferring, self.pending, self.raising = False, None, raising
        self.arrivals = (
            itertools.count()
        )  # next() is one C call: a re-entered handler sees 1, 2, ...

    def install(self) -> None:
        for name in SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None or signal.getsignal(signum) in (signal.SIG_IGN, None):
                continue
            try:
                self.previous[signum] = signal.signal(signum, self.handle)
            except ValueError:  # not the main thread: signals stay as they are
                pass

    def restore(self) -> None:
        """Cancel the timers and put the previous handlers back (for main() called in a process that
        goes on, e.g. a test); a signal arriving meanwhile is ignored, as any after the first."""
        self.cancel_timers()
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()

    def handle(self, signum, frame):
        if next(self.arrivals):  # not the first: the command is already stopping
            return
        name = signal.Signals(signum).name
        if not self.raising:
            self.exit_now(name)
        elif self.deferring:
            self.pending = name
        else:
            self.stop(name)

    def stop(self, name: str):
        timer = threading.Timer(GRACE, self.exit_now, (name,))
        timer.daemon = True
        self.timers.append(timer)
        timer.start()
        raise KeyboardInterrupt if name == "SIGINT" else Stopped(name, SIGNALS[name])

    def exit_now(self, name: str):
        """Print the line and exit with the signal's code, without unwinding: end the pool workers
        and remove the temporary files being written (sims.io), if those modules were imported."""
        if "multiprocessing" in sys.modules:  # pool workers, which would otherwise run on
            for child in sys.modules["multiprocessing"].active_children():
                child.terminate()
        abandon = getattr(sys.modules.get("sims.io"), "abandon", None)  # None while it is imported
        if abandon is not None:
            abandon()
        try:
            sys.stdout.flush()
        except (OSError, ValueError):  # a closed or full stdout: the line below still goes out
            pass
        os.write(2, f"{stop_line(name)}; {self.args.on_disk}\n".encode())
        os._exit(SIGNALS[name])

    @contextmanager
    def running(self):
        """The command itself: a signal raises (module docstring) until the block is left."""
        self.raising = True
        try:
            yield
        finally:
            self.raising = False

    @contextmanager
    def deferred(self):
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False
            if self.pending is not None:
                name, self.pending = self.pending, None
                self.stop(name)


EARLY: StopSignals | None = None  # the handlers `install_early` installed, which sims.cli.main uses


def _numbers() -> set:
    return {getattr(signal, name) for name in SIGNALS if hasattr(signal, name)}


def install_early() -> StopSignals:
    """Install the handlers now, before the slow imports, for the `fldm` program (not for a library
    import of sims.cli), with the signals blocked until `unblock` (module docstring)."""
    global EARLY
    if EARLY is None:
        EARLY = StopSignals(raising=False)
        EARLY.install()
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, _numbers())
    return EARLY


def unblock() -> None:
    """Let the signals `install_early` blocked through (a pending one is handled at once)."""
    if EARLY is not None and hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _numbers())


def is_program() -> bool:
    """Whether this process is the `fldm` command (its console script)."""
    return os.path.basename(sys.argv[0]).split(".")[0].removesuffix("-script") == "fldm"
