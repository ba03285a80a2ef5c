"""Which store a ledger name means, and where its per-ledger state lives (journal, outbox, letters).

A ledger is named by a file path (``cobranza.xlsx``) or a Google Sheet (its key, its URL, or ``gsheet:KEY``).
Every command that takes a ledger goes through ``open_store``. A file keeps its journal and outbox beside it; a
Google Sheet keeps them in cobro's per-user data folder (``sync.tokens.data_dir``), under ``sheets/<key>/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .gsheets import spreadsheet_key
from .store import LedgerStore


def open_store(ledger: str | os.PathLike[str], **kw: Any) -> LedgerStore:
    """The store for ``ledger``: a Google Sheet store for a key/URL, else the .xlsx file store."""
    key = spreadsheet_key(os.fspath(ledger)) if isinstance(ledger, str) else None
    if key is not None:
        from .gsheet_store import GoogleSheetStore

        return GoogleSheetStore(key, **kw)
    from .xlsx_store import store_for

    return store_for(ledger)


def sheet_home(key: str, env: Any = None) -> Path:
    """The folder of a Google Sheet ledger's journal, outbox and letters (created 0700)."""
    from .tokens import data_dir

    home = (data_dir() if env is None else data_dir(env)) / "sheets" / key
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home


def cycle_paths(ledger: str | os.PathLike[str]) -> dict[str, Path]:
    """``journal_path``, ``outbox`` and ``letters_dir`` for ``sync.cycle.collect`` when the ledger is not a file
    (empty for a file: the cycle puts them beside it)."""
    key = spreadsheet_key(os.fspath(ledger)) if isinstance(ledger, str) else None
    if key is None:
        return {}
    home = sheet_home(key)
    return {"journal_path": home / "ledger.cobro-journal.sqlite", "outbox": home / "outbox",
            "letters_dir": home / "letters"}
