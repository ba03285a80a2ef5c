"""The cached paths of posted tables give what the full path gives: a ledger typed again only for the sheet that
changed (``parse_ledger``'s memo) equals one parsed from scratch, after an edit to each table, including an edit that
makes the ledger invalid (the same error); each report asked for alone (``parts``) equals the full summary's."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import pytest

from cobro.ledger import Ledger, LedgerError
from sync.table_cache import TablesCache
from sync.table_store import Table, TableStore
from tests.test_addin_forecast import body_of, demo_api, demo_book, references  # noqa: F401 (fixtures)
from tests.test_server import Api, schema_check
from tests.test_table_store import AS_OF, demo, demo_path, store_of, with_cell  # noqa: F401 (fixtures)

# (table, row index, column, value): a valid edit of each table, then edits that make the ledger invalid
EDITS = [("Settings", None, None, None), ("Customers", 1, "name", "Otro nombre"),
         ("Customers", 2, "currency", "USD"), ("Invoices", 3, "amount", "1234.5"),
         ("Invoices", 4, "issue_date", "2026-01-02"), ("Payments", 0, "amount", "10"),
         ("Contacts", 0, "notes", "llamar otra vez"), ("Plans", 0, "amount", "12.5"), ("Levels", 0, "days", 99)]
INVALID = [("Invoices", 5, "amount", "no es un número"), ("Payments", 1, "invoice_id", "NO-SUCH"),
           ("Customers", 0, "customer_id", "")]


def assert_same_ledger(a: Ledger, b: Ledger) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, obj=f.name)
        else:
            assert x == y, f.name


def outcome(store: TableStore) -> Any:
    try:
        return store.load()
    except LedgerError as e:
        return e


def assert_same(cached: Any, full: Any) -> None:
    if isinstance(full, LedgerError):
        assert isinstance(cached, LedgerError), "the cached path parsed a ledger the full path refuses"
        assert cached.problems == full.problems
        assert cached.render("es") == full.render("es")
    else:
        assert not isinstance(cached, LedgerError), cached
        assert_same_ledger(cached, full)


def edited(tables: dict[str, Table], key: str, index: int | None, column: str | None, value: Any
           ) -> dict[str, Table]:
    if key not in tables or (index is not None and index >= len(tables[key].rows)):
        pytest.skip(f"the demo has no row {index} in {key}")
    if index is None:  # Settings: a row appended (an unknown setting is passed through)
        t = tables[key]
        return {**tables, key: dataclasses.replace(t, rows=[*t.rows, ["nota_test", "x"]])}
    assert column is not None
    return with_cell(tables, key, index, column, value)


@pytest.mark.parametrize("edit", EDITS + INVALID, ids=lambda e: f"{e[0]}-{e[2]}-{e[3]}")
def test_after_an_edit_the_incremental_parse_equals_the_full_one(demo: dict[str, Table],  # noqa: F811
                                                                 edit: tuple[Any, ...]) -> None:
    cache = TablesCache()
    assert_same(outcome(store_of(demo, cache=cache)), outcome(store_of(demo)))  # primes the memo
    assert len(cache.parse_memo) >= 5  # the sheets as typed
    changed = edited(demo, *edit)
    assert_same(outcome(store_of(changed, cache=cache)), outcome(store_of(changed)))
    # and back: the memo's entries of the first state are still right
    assert_same(outcome(store_of(demo, cache=cache)), outcome(store_of(demo)))


def test_invalid_edits_are_refused_the_same_way(demo: dict[str, Table]) -> None:  # noqa: F811
    cache = TablesCache()
    outcome(store_of(demo, cache=cache))
    for edit in INVALID:
        changed = edited(demo, *edit)
        full = outcome(store_of(changed))
        assert isinstance(full, LedgerError), edit
        assert_same(outcome(store_of(changed, cache=cache)), full)


def test_each_report_alone_equals_the_full_summary(demo_api: Api) -> None:  # noqa: F811
    body = body_of(demo_api.path, as_of=AS_OF.isoformat(), months=6)
    full = demo_api.post("/api/tables/summary", body)
    assert full.status_code == 200, full.json
    for part in ("worklist", "kpis", "aging"):
        one = demo_api.post("/api/tables/summary", {**references(body), "parts": [part]})
        assert one.status_code == 200, one.json
        schema_check(one.json, "TablesSummary")
        assert set(one.json) - {"fingerprints", "writes"} == {"as_of", "months", part}
        assert one.json[part] == full.json[part]
    both = demo_api.post("/api/tables/summary", {**references(body), "parts": ["worklist", "aging"]})
    assert both.json["aging"] == full.json["aging"] and both.json["worklist"] == full.json["worklist"]
    for bad in ([], ["nope"], "aging", [1]):
        r = demo_api.post("/api/tables/summary", {**references(body), "parts": bad})
        assert r.status_code == 400 and r.json["field"] == "parts", r.json
