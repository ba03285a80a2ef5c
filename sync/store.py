"""The one storage interface every host implements: .xlsx file (``sync.xlsx_store``), tables a host posts as JSON
(``sync.table_store``), and later a Google Sheet or a live xlwings Book.

Code outside the stores reads and writes a ledger only through ``LedgerStore``; ``tests/test_store_contract.py``
runs one suite against every store, so they behave alike: the same ``Ledger`` for the same cells, problems
located by sheet, row and column, changes visible on the next load, a stale read refused with nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from cobro.errors import ConflictError
from cobro.ledger import Ledger


class StaleLedgerError(ConflictError, RuntimeError):
    """The ledger changed since it was read; nothing was written."""

    def to_json(self, locale: str = "en") -> dict[str, object]:
        return {"error": "the workbook changed while cobro was working on it (someone saved it meanwhile); "
                         "nothing was written. Try again."}


RUN_IN_PROGRESS = "a run is already in progress"


class LedgerLockedError(ConflictError, RuntimeError):
    """Another cobro run holds the ledger."""

    def to_json(self, locale: str = "en") -> dict[str, object]:
        return {"error": f"{RUN_IN_PROGRESS} on this ledger; wait for it to finish and try again"}


@dataclass
class Changes:
    """What a run writes back, in canonical keys.

    - ``update``: per sheet key, a frame with ``_row`` (the sheet row) and the columns to set.
    - ``append``: per sheet key, typed frames (canonical columns) of new rows.
    - ``replace``: per sheet key, the new full content of that table (e.g. Matches).
    Money values are integer minor units with a ``currency`` column in the frame (or the
    invoice/customer currency the store resolves); dates are ``datetime64``.
    """

    update: dict[str, pd.DataFrame] = field(default_factory=dict)
    append: dict[str, pd.DataFrame] = field(default_factory=dict)
    replace: dict[str, pd.DataFrame] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not any(len(f) for d in (self.update, self.append) for f in d.values()) and not self.replace


class LedgerStore(Protocol):
    """Read a whole ledger; write changes atomically, or not at all."""

    def load(self) -> Ledger:
        """Read and validate. Raises ``cobro.ledger.LedgerError`` listing every problem."""
        ...

    def commit(self, changes: Changes) -> None:
        """Apply ``changes`` atomically. Raises ``StaleLedgerError`` if the ledger changed since ``load``."""
        ...

    def describe(self) -> str:
        """A short human name for messages (a path, a sheet title)."""
        ...

    @property
    def locale(self) -> str:
        """The language of the ledger's sheets (``es``/``en``), for the messages about it; reads the ledger if it
        was not read yet."""
        ...

    def check_writable(self) -> None:
        """Raise the family's error (e.g. ``sync.fileio.WorkbookOpenError``) when a write would be refused for a
        reason known now — the workbook is open in Excel — so a command stops before anything is sent."""
        ...
