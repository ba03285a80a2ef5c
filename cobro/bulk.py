"""Helpers for bulk work on big frames (pure: no file, socket or clock)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The automatic collector's state is one per process while threads pause it: the first pause in remembers whether it
# was on, the last one out turns it back on — unless an owner holds it off (the service's idle collector, which
# collects between requests instead). Without this, a pause that began before the owner turned the collector off
# and ended after it (a workbook read at start-up) turned it back on for good, and full collections of 100 ms
# landed in the middle of requests again.
_lock = threading.Lock()
_pauses = 0
_resume = False  # the collector was on when the first of the current pauses began
_held = False  # an owner keeps the automatic collector off


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building big acyclic structures; restored afterwards.

    Reading a workbook, generating a ledger or indexing 100,000 invoices makes millions of small
    tuples, lists and strings without cycles: the collection passes their allocation triggers only
    rescan them (a quarter to a half of the run) and free nothing. Pauses in several threads at once are
    counted: the collector is back on (if it was on) when the last one ends, and never while it is held off.
    """
    global _pauses, _resume
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
        _pauses += 1
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _resume and not _held:
                gc.enable()


def hold_collector() -> bool:
    """Turn the automatic collector off and keep it off (no pause ending turns it on) until ``release_collector``;
    returns whether it was on (counting the pauses under way). For an owner that collects itself."""
    global _held
    with _lock:
        was = _resume if _pauses else gc.isenabled()
        _held = True
        gc.disable()
        return was


def release_collector(enable: bool) -> None:
    """End a hold: the automatic collector on again if ``enable`` (at once, or when the pauses under way end)."""
    global _held, _resume
    with _lock:
        _held = False
        if _pauses:
            _resume = enable
        elif enable:
            gc.enable()
