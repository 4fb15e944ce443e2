"""Handling stop signals for the length of a block, for the long-running parts: the launcher
(forwards them to its runner), the CycleGAN trainer and the detector training (note them and stop
at a safe point). One mechanism, so each only says what a signal does to it.

Handlers can be set from the main thread only; elsewhere (a test calling a trainer from a worker
thread) the block runs with the process's handlers as they are. The previous handlers return after.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Handler = Callable[[int, object], None]


@contextmanager
def handling_signals(signals: tuple[int, ...], handler: Handler, keep_ignored: bool = True) -> Iterator[None]:
    """Run the block with `handler` on `signals`. With `keep_ignored`, a signal this process ignores
    (SIGHUP under nohup, SIGINT of a background job) stays ignored, as it would for the process's
    default action."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = [sig for sig in signals if not (keep_ignored and signal.getsignal(sig) is signal.SIG_IGN)]
    previous = {sig: signal.signal(sig, handler) for sig in handled}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
