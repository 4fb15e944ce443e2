"""Graceful stop of a detector training on SIGTERM (a scheduler's walltime, qdel) or SIGINT (Ctrl-C).

Python's defaults would kill the process wherever it is (SIGTERM) or raise KeyboardInterrupt there
(SIGINT), possibly while a checkpoint is being written. Here the handler only notes the signal; the
trainer calls `check()` before each training and validation batch, which abandons the unfinished
epoch by raising `Stopped`. Checkpoints are written whole or not at all (trainer.py), so ultralytics'
`last.pt` of the last finished epoch is the resume point. `Stopped` is a SystemExit with the shell's
code for that signal (143 for SIGTERM, 130 for SIGINT): the job fails, so Snakemake or the scheduler
retries it, and the rerun resumes. A second signal of the same kind acts at once (the default action).

No ultralytics import here: train.py installs the handlers before ultralytics is imported.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from cg2real.signals import handling_signals

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)
_received: int | None = None  # the first stop signal of this process, if any


class Stopped(SystemExit):
    """The training was stopped by a signal; exits the process with code 128 + signal number."""

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signum = signum


def received() -> int | None:
    """The stop signal received so far, or None."""
    return _received


def check(*_: object) -> None:
    """Raise `Stopped` if a stop signal arrived; an ultralytics callback (it passes the trainer or validator)."""
    if _received is not None:
        log.warning("%s received: abandoning the unfinished epoch; the run resumes from its last.pt when rerun",
                    signal.Signals(_received).name)
        raise Stopped(_received)


def _note(signum: int, _frame: object) -> None:
    global _received
    if _received == signum:  # asked twice: stop now, as without this handler
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    _received = signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Note SIGTERM and SIGINT (instead of dying mid-write) while the block runs; the old handlers return after."""
    global _received
    _received = None
    with handling_signals(SIGNALS, _note, keep_ignored=False):
        yield
