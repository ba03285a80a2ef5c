"""A table sent as a patch of one the service holds (``base``, ``length``, ``patch``; the Office add-in's cell
functions after an edit) gives exactly the ledger the whole table gives, whatever the edit. Only the patched rows
(rows added at the bottom included) are read and typed again when that is exact: no written dates or amounts, no
rows removed or blanked, no patched row that would be taken for the header. Otherwise the whole table is read
again. The patch's fields are checked and named like the rows', and a base the service no longer holds is a 409
asking for the table whole."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cobro.ledger
from sync.table_cache import TablesCache
from sync.table_store import (
    Table,
    TablePayloadError,
    TableStore,
    UnknownTableError,
    parse_tables,
    table_fingerprint,
)
from tests.test_table_cache_incremental import assert_same, outcome
from tests.test_table_store import cell_index, demo, demo_path, store_of  # noqa: F401 (fixtures)


def json_rows(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows as the service reads them from JSON (numbers with a fraction as Decimal)."""
    return json.loads(json.dumps(rows, ensure_ascii=False, default=float), parse_float=Decimal)


def fingerprinted(tables: dict[str, Table]) -> dict[str, Table]:
    return {k: dataclasses.replace(t, rows=json_rows(t.rows),
                                   fingerprint=table_fingerprint(t.headers, json_rows(t.rows), t.header_row))
            for k, t in tables.items()}


def whole(t: Table) -> dict[str, Any]:
    return {"key": t.key, "title": t.title, "header_row": t.header_row, "headers": t.headers, "rows": t.rows,
            "fingerprint": t.fingerprint}


def reference(t: Table) -> dict[str, Any]:
    return {"key": t.key, "title": t.title, "header_row": t.header_row, "fingerprint": t.fingerprint}


def patch_of(old: Table, new: Table) -> dict[str, Any]:
    """``new`` as the add-in sends it after an edit: the rows that differ from ``old``'s (as JSON text)."""
    same = [i < len(old.rows) and json.dumps(r, default=float) == json.dumps(old.rows[i], default=float)
            for i, r in enumerate(new.rows)]
    return {**reference(new), "base": old.fingerprint, "length": len(new.rows),
            "patch": [[i, r] for i, r in enumerate(new.rows) if not same[i]]}


def posted(cache: TablesCache, entries: list[dict[str, Any]]) -> TableStore:
    store = TableStore({"tables": entries}, cache=cache)
    cache.remember(store.tables())
    return store


class Typings:
    """How many rows each typing of a sheet took (a spy on ``cobro.ledger._parse_table``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows: list[tuple[str, int]] = []
        real = cobro.ledger._parse_table

        def spy(sheet: Any, raw: Any, *a: Any, **kw: Any) -> Any:
            self.rows.append((sheet.key, len(raw)))
            return real(sheet, raw, *a, **kw)

        monkeypatch.setattr(cobro.ledger, "_parse_table", spy)


def test_a_patched_cell_is_typed_alone_and_gives_the_whole_tables_ledger(demo: dict[str, Table],  # noqa: F811
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    base = fingerprinted(demo)
    cache = TablesCache()
    first = posted(cache, [whole(t) for t in base.values()])
    assert_same(outcome(first), outcome(store_of(base)))
    inv = base["Invoices"]
    rows = [list(r) for r in inv.rows]
    rows[2][cell_index(inv, "amount")] = Decimal("4321.09")  # among the rows the header is looked for
    rows[31][cell_index(inv, "description")] = "=HYPERLINK(\"x\")"
    new = fingerprinted({"Invoices": dataclasses.replace(inv, rows=rows)})["Invoices"]
    expected = outcome(store_of({**base, "Invoices": new}))
    entry = patch_of(inv, new)
    assert [i for i, _ in entry["patch"]] == [2, 31]
    typings = Typings(monkeypatch)
    store = posted(cache, [entry if k == "Invoices" else reference(t) for k, t in base.items()])
    assert_same(outcome(store), expected)
    assert typings.rows == [("Invoices", 2)]  # the two patched rows, not the sixty; the other sheets as they were
    assert store._raw_edits["Invoices"][1] == (2, 31)
    # a new invoice at the bottom: that row alone is read and typed
    inv_id = cell_index(inv, "invoice_id")
    added = [list(r) for r in new.rows] + [list(new.rows[-1])]
    added[-1][inv_id] = "F-NUEVA"
    grown = fingerprinted({"Invoices": dataclasses.replace(inv, rows=added)})["Invoices"]
    expected = outcome(store_of({**base, "Invoices": grown}))
    typings = Typings(monkeypatch)
    store = posted(cache, [patch_of(new, grown) if k == "Invoices" else reference(t) for k, t in base.items()])
    assert_same(outcome(store), expected)
    assert typings.rows == [("Invoices", 1)]
    monkeypatch.undo()
    rows = [list(r) for r in new.rows]
    # a row among the first ones that reads like the headers: they are still where they were
    rows[4] = list(inv.headers)
    newer = fingerprinted({"Invoices": dataclasses.replace(inv, rows=rows)})["Invoices"]
    expected = outcome(store_of({**base, "Invoices": newer}))
    assert_same(outcome(posted(cache, [patch_of(new, newer) if k == "Invoices" else reference(t)
                                       for k, t in base.items()])), expected)


def test_what_a_patch_cannot_read_alone_is_read_whole(demo: dict[str, Table],  # noqa: F811
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    base = fingerprinted(demo)
    inv = base["Invoices"]
    n = len(inv.rows)
    date, amount = cell_index(inv, "issue_date"), cell_index(inv, "amount")

    def changed(edit: Any) -> Table:
        rows = [list(r) for r in inv.rows]
        edit(rows)
        return fingerprinted({"Invoices": dataclasses.replace(inv, rows=rows)})["Invoices"]

    cases = {
        "a written date (day first is a column's decision)": changed(lambda r: r[20].__setitem__(date, "03/05/2026")),
        "a written amount (the decimal mark is the column's)": changed(lambda r: r[20].__setitem__(amount, "1.234,5")),
        "a row blanked": changed(lambda r: r.__setitem__(20, [""] * len(r[20]))),
        "a row removed": changed(lambda r: r.pop()),
    }
    for why, new in cases.items():
        cache = TablesCache()
        outcome(posted(cache, [whole(t) for t in base.values()]))
        expected = outcome(store_of({**base, "Invoices": new}))
        typings = Typings(monkeypatch)
        store = posted(cache, [patch_of(inv, new) if k == "Invoices" else reference(t) for k, t in base.items()])
        assert_same(outcome(store), expected)
        whole_reads = [k for k, rows in typings.rows if k == "Invoices" and rows >= n - 1]
        assert whole_reads, why
        monkeypatch.undo()


def spying(real: Any, calls: list[str]) -> Any:
    def spy(sheet: Any, *a: Any) -> Any:
        calls.append(sheet.key)
        return real(sheet, *a)

    return spy


def test_an_edit_of_payments_takes_customers_and_invoices_with_their_problems_as_they_were(
        demo: dict[str, Table], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """After an edit of Payments alone, Settings, Customers and Invoices (and their checks) come from the memo:
    nothing of them is typed again, and a problem of Invoices is still named, with the Payments' own."""
    base = fingerprinted(demo)
    inv, pay = base["Invoices"], base["Payments"]
    rows = [list(r) for r in inv.rows]
    rows[5][cell_index(inv, "customer_id")] = "C-NADIE"  # a customer the Customers sheet lacks
    bad = fingerprinted({"Invoices": dataclasses.replace(inv, rows=rows)})["Invoices"]
    start = {**base, "Invoices": bad}
    cache = TablesCache()
    assert_same(outcome(posted(cache, [whole(t) for t in start.values()])), outcome(store_of(start)))
    for value in (Decimal("12.34"), Decimal("-5")):  # another amount; then one that is a problem of its own
        prow = [list(r) for r in pay.rows]
        prow[3][cell_index(pay, "amount")] = value
        new_pay = fingerprinted({"Payments": dataclasses.replace(pay, rows=prow)})["Payments"]
        expected = outcome(store_of({**start, "Payments": new_pay}))
        typings = Typings(monkeypatch)
        checked: list[str] = []
        monkeypatch.setattr(cobro.ledger, "_check_unique", spying(cobro.ledger._check_unique, checked))
        got = outcome(posted(cache, [patch_of(pay, new_pay) if k == "Payments" else reference(t)
                                     for k, t in start.items()]))
        assert_same(got, expected)
        assert not [k for k, _ in typings.rows if k in ("Customers", "Invoices")]
        assert "Invoices" not in checked and "Customers" not in checked  # their checks were not made again
        assert any(p.sheet == "Invoices" and p.code == "customer" for p in got.problems)
        monkeypatch.undo()


CELLS = st.one_of(
    st.sampled_from(["", None, "xyz", "USD", "EUR", "C0001", "C0002", "F-0001", "pagada", "03/05/2026",
                     "2026-05-03", "1.234,56", "12.5", True, 0, 7, 46000, 46000.5]),
    st.decimals(min_value=Decimal("-1000"), max_value=Decimal("99999"), places=3, allow_nan=False),
)
EDIT = st.tuples(st.sampled_from(["Invoices", "Payments", "Customers", "Contacts"]), st.integers(-3, 10_000),
                 st.integers(0, 40), CELLS)  # a row index below 0: a copy of that row added at the bottom


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.lists(EDIT, min_size=1, max_size=4), min_size=1, max_size=3),
       other_row=st.booleans())
def test_any_patch_gives_what_the_whole_tables_give(demo: dict[str, Table], steps: list[list[Any]],  # noqa: F811
                                                    other_row: bool) -> None:
    """Edits of any cell to any value (an other row's value, written dates and amounts, blanks, nonsense, another
    currency that changes other rows' currencies), sent as patches one after the other: the same ledger, or the
    same problems, as the whole tables."""
    current = fingerprinted(demo)
    cache = TablesCache()
    outcome(posted(cache, [whole(t) for t in current.values()]))
    for step in steps:
        new_tables = dict(current)
        for key, row, col, value in step:
            t = new_tables[key]
            if not t.rows:
                continue
            rows = [list(r) for r in t.rows]
            if row < 0:  # a new row at the bottom, like one copied down
                rows.append(list(rows[row]))
                row = len(rows) - 1
            i, c = row % len(rows), col % len(t.headers)
            if other_row and isinstance(value, str) and value == "xyz":
                value = rows[(i + 1) % len(rows)][c]
            rows[i][c] = value
            new_tables[key] = dataclasses.replace(t, rows=rows)
        new_tables = {k: (fingerprinted({k: t})[k] if t is not current[k] else t) for k, t in new_tables.items()}
        entries = [patch_of(current[k], t) if t is not current[k] else reference(t) for k, t in new_tables.items()]
        assert_same(outcome(posted(cache, entries)), outcome(store_of(new_tables)))
        current = new_tables


# ------------------------------------------------------------------------------------------- the patch's fields


def held_tables(demo: dict[str, Table]) -> tuple[dict[str, Table], Any]:  # noqa: F811
    base = fingerprinted(demo)
    cache = TablesCache()
    cache.remember(base.values())
    return base, cache.table


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"patch": [[0, ["x", {"a": 1}]]]}, "tables[0].patch[0][1][1]", "expected a cell value"),
    ({"patch": [[0, "row"]]}, "tables[0].patch[0][1]", "expected a list of cell values"),
    ({"patch": [[99, ["x"]]]}, "tables[0].patch[0]", "row index below"),
    ({"patch": [[1, ["x"]], [1, ["y"]]]}, "tables[0].patch[1]", "patched twice"),
    ({"patch": {"1": ["x"]}}, "tables[0].patch", "expected a list"),
    ({"length": -1}, "tables[0].length", "number of rows"),
    ({"length": 5, "patch": []}, "tables[0].patch", "row 3 is new and missing"),
    ({"base": ""}, "tables[0].base", "fingerprint of the table"),
    ({"fingerprint": ""}, "tables[0].fingerprint", "is required with a patch"),
    ({"rows": []}, "tables[0].patch", "instead of headers and rows"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_bad_patch_is_named(demo: dict[str, Table], change: dict[str, Any], field: str,  # noqa: F811
                              words: str) -> None:
    base, known = held_tables(demo)
    t = dataclasses.replace(base["Levels"], rows=base["Levels"].rows[:3])
    known_t = {("Levels", t.fingerprint): t}
    entry = {**reference(t), "fingerprint": "v2", "base": t.fingerprint, "length": 3, "patch": [], **change}
    with pytest.raises(TablePayloadError) as e:
        parse_tables([entry], known=lambda k, fp: known_t.get((k, fp)))
    assert e.value.field == field and words in str(e.value), str(e.value)
    assert not isinstance(e.value, UnknownTableError)


def test_a_patch_of_a_table_not_held_asks_for_it_whole(demo: dict[str, Table]) -> None:  # noqa: F811
    base, known = held_tables(demo)
    inv = base["Invoices"]
    entry = {**reference(inv), "fingerprint": "v2", "base": "sha256:gone", "length": len(inv.rows), "patch": []}
    with pytest.raises(UnknownTableError) as e:
        parse_tables([entry], known=known)
    assert e.value.http_status == 409 and e.value.to_json()["resend"] == ["Invoices"]
    with pytest.raises(TablePayloadError, match="whole tables only"):  # a route that keeps nothing
        parse_tables([{**entry, "base": inv.fingerprint}])
    got = parse_tables([{**entry, "base": inv.fingerprint, "patch": [[2, ["F-X"]]]}], known=known)[0]
    assert got.rows[2] == ["F-X"] and got.rows[3] is inv.rows[3] and got.headers == inv.headers
    assert got.fingerprint == "v2" and got.changed == (inv.fingerprint, (2,))
    assert inv.rows[2] != ["F-X"]  # the held table is not changed
