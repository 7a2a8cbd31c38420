"""Stop signals for the command line: SIGINT, SIGTERM and SIGHUP end a command with one line saying
what is on disk, and exit codes 130, 143 and 129 (128 + the signal's number); files being written
are removed as the stack unwinds (sims.io), or by a timer GRACE seconds later if the exception is
lost.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager

from sims import io

SIGNALS = {"SIGTERM": 143, "SIGHUP": 129}  # exit code 128 + signal number (SIGINT: 130)
GRACE = 5.0  # seconds a stopped command has to unwind before it exits anyway


class Stopped(BaseException):
    """A termination signal, raised in the main thread so that files being written are cleaned
    up."""

    def __init__(self, name: str, code: int):
        super().__init__(name)
        self.name, self.code = name, code


class StopSignals:
    """Handlers for SIGINT, SIGTERM and SIGHUP (those not ignored, e.g. by nohup) that raise
    KeyboardInterrupt or Stopped, so that files being written are removed as the stack unwinds, and
    the line printed says what is on disk (args.on_disk).

    Inside `deferred()` a signal waits until the block is done (a result pair is written whole). An
    exception raised in a signal handler can be lost (inside an extension module's import, say), so
    each stop also starts a timer that, GRACE seconds later, removes those files itself (io.abandon)
    and exits with the same line and code.
    """

    def __init__(self, args):
        self.args, self.timers, self.previous = args, [], {}
        self.deferring, self.pending = False, None

    def install(self) -> None:
        for name in ("SIGINT", *SIGNALS):
            signum = getattr(signal, name, None)
            if signum is None or signal.getsignal(signum) in (signal.SIG_IGN, None):
                continue
            try:
                self.previous[signum] = signal.signal(signum, self.handle)
            except ValueError:  # not the main thread: signals stay as they are
                pass

    def restore(self) -> None:
        for timer in self.timers:
            timer.cancel()
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def handle(self, signum, frame):
        if self.deferring:
            self.pending = signum
        else:
            self.stop(signum)

    def stop(self, signum):
        name = signal.Signals(signum).name
        line, code = (
            ("fldm: interrupted", 130)
            if name == "SIGINT"
            else (f"fldm: stopped by {name}", SIGNALS[name])
        )
        self.timers.append(threading.Timer(GRACE, self.exit_now, (line, code)))
        self.timers[-1].daemon = True
        self.timers[-1].start()
        raise KeyboardInterrupt if name == "SIGINT" else Stopped(name, code)

    def exit_now(self, line: str, code: int):
        import multiprocessing

        for (
            child
        ) in multiprocessing.active_children():  # pool workers, which would otherwise run on
            child.terminate()
        io.abandon()
        print(f"{line}; {self.args.on_disk}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(code)

    @contextmanager
    def deferred(self):
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False
            if self.pending is not None:
                signum, self.pending = self.pending, None
                self.stop(signum)
