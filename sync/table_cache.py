"""What the service keeps between requests of a host that posts its tables (the Office add-in's cell functions):
the tables it sent, each sheet's raw frame, the parsed ledger and the reports, keyed by the tables' fingerprints.

A recalculation asks for the same workbook state again and again; a change touches one table. So:

- ``table(key, fingerprint)``: a table sent before, for a request that names it by fingerprint only (the host then
  sends the rows of the tables that changed, nothing else);
- ``raw(...)``: one sheet's raw frame (``raw_from_sheets``), so a change re-reads only the sheet that changed;
- ``ledger(...)`` / ``result(...)``: the parsed ledger of a set of fingerprints, and what was computed from it
  (each report of a day, a forecast), computed once however many requests ask at the same time (single flight);
- ``parse_memo``: each sheet as ``parse_ledger`` typed it (its ``memo``), so after a change to one sheet only that
  sheet is typed again before the cross-sheet checks.

One cache per served ledger (the token's): hosts of different ledgers never share entries. Everything here is
bounded (a few versions of each table, a few ledgers, some dozens of results) and read-only once stored: callers
get shallow copies of ledgers (pandas copy-on-write), never the cached frames.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, MutableMapping
from concurrent.futures import Future
from typing import Any, TypeVar

import pandas as pd

T = TypeVar("T")

TABLE_VERSIONS = 2  # versions kept of each table (the one before a change and the one after)
LEDGERS = 4
RAWS = 48  # each table's raw frame and currency codes, a few versions of each
RESULTS = 64
TYPED_SHEETS = 48  # sheets as parse_ledger typed them, and the inputs of each version (a few of each)


class _Lru(OrderedDict[Hashable, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Hashable, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)

    def hit(self, key: Hashable) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


class _SharedLru(MutableMapping[Hashable, Any]):
    """A bounded mapping that threads may share (``parse_ledger``'s ``memo``)."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._lru = _Lru(size)

    def __getitem__(self, key: Hashable) -> Any:
        with self._lock:
            value = self._lru.hit(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._lru.put(key, value)

    def __delitem__(self, key: Hashable) -> None:
        with self._lock:
            del self._lru[key]

    def __iter__(self) -> Iterator[Hashable]:
        with self._lock:
            return iter(list(self._lru))

    def __len__(self) -> int:
        return len(self._lru)


class TablesCache:
    """Tables, raw sheets, ledgers and results of one served ledger's hosts (thread-safe)."""

    def __init__(self, *, versions: int = TABLE_VERSIONS, ledgers: int = LEDGERS, raws: int = RAWS,
                 results: int = RESULTS, typed_sheets: int = TYPED_SHEETS) -> None:
        self._lock = threading.Lock()
        self.parse_memo: MutableMapping[Hashable, Any] = _SharedLru(typed_sheets)
        self._versions = versions
        self._tables: dict[str, _Lru] = {}
        self._raws = _Lru(raws)
        self._ledgers = _Lru(ledgers)
        self._results = _Lru(results)
        self._pending: dict[Hashable, Future[Any]] = {}
        self.stats = {"hits": 0, "misses": 0}

    # ------------------------------------------------------------------ tables a host sent
    def remember(self, tables: Iterable[Any]) -> None:
        """Keep the tables that came with a host's fingerprint (``Table`` objects) for later references."""
        with self._lock:
            for t in tables:
                if t.fingerprint:
                    self._tables.setdefault(t.key, _Lru(self._versions)).put(t.fingerprint, t)

    def table(self, key: str, fingerprint: str) -> Any:
        """The table ``key`` sent before with ``fingerprint``, or None."""
        with self._lock:
            versions = self._tables.get(key)
            return versions.hit(fingerprint) if versions is not None else None

    # ------------------------------------------------------------------ computed once per key
    def raw(self, key: Hashable, build: Callable[[], T]) -> T:
        """One sheet's raw frame, or what else is read from one table (immutable once built)."""
        return self._once(self._raws, ("raw", key), build)

    def peek_raw(self, key: Hashable) -> Any:
        """The raw read kept under ``key``, or None (never builds it)."""
        with self._lock:
            return self._raws.hit(("raw", key))

    def ledger(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The parsed ledger of ``key`` (a shallow copy each time: a caller's edits never reach the cache)."""
        return _shallow_copy(self._once(self._ledgers, ("ledger", key), build))

    def result(self, key: Hashable, build: Callable[[], T]) -> T:
        """A result computed from a ledger (JSON-ready; callers must not modify it)."""
        return self._once(self._results, ("result", key), build)

    def _once(self, lru: _Lru, key: Hashable, build: Callable[[], T]) -> T:
        """``lru[key]``, else ``build()`` run by the first caller while the others wait for it (single flight).
        An exception reaches every waiter and is not remembered."""
        with self._lock:
            value = lru.hit(key)
            if value is not None:
                self.stats["hits"] += 1
                return value
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                self.stats["misses"] += 1
                pending = self._pending[key] = Future()
        assert pending is not None
        if not owner:
            return pending.result()
        try:
            value = build()
        except BaseException as e:
            with self._lock:
                self._pending.pop(key, None)
            pending.set_exception(e)
            raise
        with self._lock:
            lru.put(key, value)
            self._pending.pop(key, None)
        pending.set_result(value)
        return value


def _shallow_copy(ledger: Any) -> Any:
    """The ledger with its frames copied lazily (pandas copy-on-write)."""
    if not dataclasses.is_dataclass(ledger):
        return ledger
    frames = {f.name: getattr(ledger, f.name).copy(deep=False) for f in dataclasses.fields(ledger)
              if isinstance(getattr(ledger, f.name), pd.DataFrame)}
    return dataclasses.replace(ledger, **frames)
