"""Helpers for bulk work on big frames (pure: no file, socket or clock)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building big acyclic structures; restored afterwards.

    Reading a workbook, generating a ledger or indexing 100,000 invoices makes millions of small
    tuples, lists and strings without cycles: the collection passes their allocation triggers only
    rescan them (a quarter to a half of the run) and free nothing.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
