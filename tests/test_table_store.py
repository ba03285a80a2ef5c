"""The table store (``sync.table_store``): a ledger as a spreadsheet host posts it, writes returned as data.

The payloads are made as a host makes them: a real workbook read cell by cell (calamine), dates turned into serial
numbers as Office.js gives them, then sent through JSON and parsed the way the service parses a body (numbers as
decimals). What is common with the file store is in ``tests/test_store_contract.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cobro.demo.generate import generate_ledger
from cobro.errors import ConflictError, InputError
from cobro.ledger import LedgerError, make_frame, match_headers
from cobro.schema import CONTACTS, MATCHES, PAYMENTS, find_sheet
from sheets_templates import build_workbook
from sync.store import Changes, StaleLedgerError
from sync.table_store import (
    Table,
    TablePayloadError,
    TableStore,
    apply_writes,
    json_cell,
    parse_tables,
    request_body,
    serial,
    table_fingerprint,
    tables_of_workbook,
)
from sync.xlsx_store import XlsxStore

AS_OF = dt.date(2026, 11, 20)


# ------------------------------------------------------------------------------------------- as a host sends it


def host_tables(path: Path) -> dict[str, Table]:
    """Every ledger sheet of a workbook as a host reads it (values, headers as seen, header row)."""
    return tables_of_workbook(path)


def wire(tables: dict[str, Table], **extra: Any) -> dict[str, Any]:
    """The request body: through JSON and back as the service reads it (numbers with a fraction as Decimal)."""
    text = json.dumps(request_body(tables, **extra), ensure_ascii=False, default=float)  # a test's Decimal cell
    return json.loads(text, parse_float=Decimal)


def store_of(tables: dict[str, Table], **kw: Any) -> TableStore:
    return TableStore(wire(tables), **kw)


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.xlsx"
    led = generate_ledger(customers=8, invoices=60, seed=7, locale="es", as_of=AS_OF)
    build_workbook(path, locale="es", ledger=led, as_of=AS_OF)
    return path


@pytest.fixture
def demo(demo_path: Path) -> dict[str, Table]:
    return host_tables(demo_path)


def cell_index(table: Table, key: str) -> int:
    spec = find_sheet(table.key)
    assert spec is not None
    return {k: i for i, k in match_headers(spec, table.headers).items()}[key]


def with_cell(tables: dict[str, Table], key: str, index: int, column: str, value: Any) -> dict[str, Table]:
    t = tables[key]
    rows = [list(r) for r in t.rows]
    rows[index][cell_index(t, column)] = value
    return {**tables, key: replace(t, rows=rows)}


# ------------------------------------------------------------------------------------------- reading


def test_the_posted_tables_give_the_same_ledger_as_the_file(demo_path: Path, demo: dict[str, Table]) -> None:
    from_tables = store_of(demo).load()
    from_file = XlsxStore(demo_path).load()
    for name in ("customers", "invoices", "payments", "contacts", "plans", "levels", "templates", "matches"):
        pd.testing.assert_frame_equal(getattr(from_tables, name), getattr(from_file, name), obj=name)
    assert from_tables.settings == from_file.settings


def test_dates_in_every_form_a_host_gives_them(demo: dict[str, Table]) -> None:
    forms = [46346, Decimal("46346"), Decimal("46346.75"), "2026-11-20", "20/11/2026", "2026-11-20T09:30:00",
             "2026-11-19T23:00:00.000Z",  # JSON.stringify of an Apps Script Date: midnight in Madrid, in UTC
             "2026-11-20T01:00:00+02:00"]
    tables = demo
    for i, form in enumerate(forms):
        tables = with_cell(tables, "Invoices", i, "issue_date", form)
    led = store_of(tables).load()
    got = led.invoices["issue_date"].iloc[:len(forms)].dt.date.tolist()
    assert got == [dt.date(2026, 11, 20)] * len(forms)


def test_empty_cells_as_empty_text_or_null_and_amounts_read_exactly(demo: dict[str, Table]) -> None:
    tables = with_cell(demo, "Invoices", 0, "description", None)
    tables = with_cell(tables, "Invoices", 1, "description", "")
    tables = with_cell(tables, "Invoices", 0, "amount", Decimal("100000.1"))  # JSON 100000.1: never 100000.0999…
    tables = with_cell(tables, "Invoices", 1, "amount", "1.234.567,89")
    tables = with_cell(tables, "Invoices", 2, "amount", 1250000)
    led = store_of(tables).load()
    assert led.invoices["description"].iloc[:2].tolist() == ["", ""]
    assert led.invoices["amount"].iloc[:3].tolist() == [10000010, 123456789, 125000000]


def test_problems_name_sheet_row_and_column_as_the_user_sees_them(demo: dict[str, Table]) -> None:
    t = demo["Invoices"]
    moved = replace(t, header_row=4)  # an Excel table whose headers sit in row 4
    tables = with_cell({**demo, "Invoices": moved}, "Invoices", 2, "amount", "mil euros")
    tables = with_cell(tables, "Invoices", 5, "due_date", "31/02/2026")
    with pytest.raises(LedgerError) as e:
        store_of(tables).load()
    where = {(p.sheet, p.row, p.column) for p in e.value.problems if p.sheet == "Invoices"}
    assert where == {("Invoices", 4 + 1 + 2, "amount"), ("Invoices", 4 + 1 + 5, "due_date")}
    assert "Facturas" in e.value.render("es")


@pytest.mark.parametrize("tables,field", [
    ({"key": "Invoices"}, "tables"),
    ([{"key": "Facturas", "headers": []}], "tables[0].key"),
    ([{"key": "Invoices", "headers": []}, {"key": "Invoices", "headers": []}], "tables[1].key"),
    ([{"key": "Invoices", "headers": [], "rows": [["a", {"x": 1}]]}], "tables[0].rows[0][1]"),
    ([{"key": "Invoices", "headers": [], "rows": [["a", 1], ["b", 2], ["c", [3]]]}], "tables[0].rows[2][1]"),
    ([{"key": "Invoices", "headers": [], "rows": [["a"], "b"]}], "tables[0].rows[1]"),
    ([{"key": "Invoices", "headers": [], "rows": [["a"], [None] * 16_385]}], "tables[0].rows[1]"),
    ([{"key": "Invoices", "headers": [], "rows": "a,b"}], "tables[0].rows"),
    ([{"key": "Invoices", "headers": "Factura"}], "tables[0].headers"),
    ([{"key": "Invoices", "headers": [], "header_row": 0}], "tables[0].header_row"),
    ([{"key": "Invoices", "headers": [], "title": "Clientes"}], "tables[0].title"),
    ([{"key": "Invoices", "headers": [], "sheet": "x"}], "tables[0].sheet"),
])
def test_a_malformed_payload_names_the_field(tables: Any, field: str) -> None:
    with pytest.raises(TablePayloadError) as e:
        parse_tables(tables)
    assert e.value.field == field and e.value.http_status == 400
    assert e.value.to_json()["field"] == field


# ------------------------------------------------------------------------------------------- writing as data


def test_writes_are_cell_values_a_host_can_put_as_they_are(demo: dict[str, Table]) -> None:
    store = store_of(demo)
    led = store.load()
    cust = led.customers["customer_id"].iloc[0]
    pay = make_frame(PAYMENTS, [{"date": pd.Timestamp(AS_OF), "customer_id": cust, "amount": 125010,
                                 "currency": "EUR", "method": "transfer", "reference": "=HYPERLINK(\"x\")",
                                 "source": "manual", "payment_id": "P-NEW"}])
    store.commit(Changes(append={"Payments": pay}))
    w = store.writes()
    (edit,) = w["edits"]
    assert edit["op"] == "append" and edit["table"] == "Payments"
    row = edit["rows"][0]
    assert row["amount"] == 1250.1 and '"amount":1250.1' in json.dumps(row, separators=(",", ":"))
    assert row["date"] == serial(AS_OF) == 46346
    assert row["method"] == "transferencia"  # the Spanish label, as the drop-down shows it
    assert row["reference"] == "'=HYPERLINK(\"x\")"  # text a spreadsheet would evaluate stays text
    cols = w["tables"]["Payments"]["columns"]
    assert cols["amount"]["format"] == "#,##0.00" and cols["date"]["format"] == "dd/mm/yyyy"
    assert edit["row"] == demo["Payments"].row_of(len(demo["Payments"].rows))


def test_money_is_printed_exactly_or_refused() -> None:
    assert json.dumps(json_cell(Decimal("0.10"))) == "0.1"
    assert json.dumps(json_cell(Decimal("1234567890123.45"))) == "1234567890123.45"
    assert json_cell(Decimal("1500")) == 1500 and isinstance(json_cell(Decimal("1500")), int)
    with pytest.raises(InputError):
        json_cell(Decimal("12345678901234567.89"))
    assert json_cell(dt.datetime(2026, 11, 20, 18, 0)) == 46346.75


def test_a_table_or_column_the_host_lacks_is_created_by_the_writes(demo: dict[str, Table]) -> None:
    inv = demo["Invoices"]
    level = cell_index(inv, "reminder_level")
    slim = replace(inv, headers=[h for i, h in enumerate(inv.headers) if i != level],
                   rows=[[v for i, v in enumerate(r) if i != level] for r in inv.rows])
    tables = {k: t for k, t in demo.items() if k != "Matches"} | {"Invoices": slim}
    store = store_of(tables)
    led = store.load()
    store.commit(Changes(
        update={"Invoices": pd.DataFrame({"_row": led.invoices["_row"].iloc[:1], "reminder_level": ["r9"]})},
        replace={"Matches": make_frame(MATCHES, [{"statement_line": "L1", "amount": 1000, "currency": "EUR",
                                                  "invoice_ids": ("F-1", "F-2"), "action": "accept"}])}))
    w = store.writes()
    assert w["tables"]["Matches"]["new"] and w["tables"]["Matches"]["title"] == "Conciliación"
    assert w["tables"]["Invoices"]["columns"]["reminder_level"] == {
        "index": len(slim.headers), "header": "Nivel", "new": True, "format": "@"}
    after = apply_writes(tables, w)
    again = store_of(after).load()
    assert again.invoices["reminder_level"].iloc[0] == "r9"
    assert again.matches["invoice_ids"].tolist() == [("F-1", "F-2")] and again.matches["amount"].tolist() == [1000]
    assert store.load().invoices["reminder_level"].iloc[0] == "r9"  # the store's own view moved on too


def test_the_host_refuses_writes_when_its_table_changed_or_was_sorted(demo: dict[str, Table]) -> None:
    store = store_of(demo)
    led = store.load()
    store.commit(Changes(update={"Invoices": pd.DataFrame({"_row": led.invoices["_row"].iloc[:2],
                                                           "reminder_level": ["r1", "r2"]})}))
    w = store.writes()
    assert w["tables"]["Invoices"]["fingerprint"] == table_fingerprint(
        demo["Invoices"].headers, demo["Invoices"].rows, demo["Invoices"].header_row)
    edited = with_cell(demo, "Invoices", 9, "description", "changed meanwhile")
    with pytest.raises(StaleLedgerError):
        apply_writes(edited, w)
    inv = demo["Invoices"]
    swapped = replace(inv, rows=[inv.rows[1], inv.rows[0], *inv.rows[2:]], fingerprint="host-v1")
    w["tables"]["Invoices"]["fingerprint"] = "host-v1"  # same version number, yet sorted: the match guard holds
    with pytest.raises(StaleLedgerError, match="no longer holds"):
        apply_writes({**demo, "Invoices": swapped}, w)


def test_the_hosts_own_fingerprints_travel_with_the_writes(demo: dict[str, Table]) -> None:
    tables = {k: replace(t, fingerprint=f"{k}@7") for k, t in demo.items()}
    store = store_of(tables)
    assert store.fingerprints()["Invoices"] == "Invoices@7"
    store.load()
    store.commit(Changes(append={"Contacts": make_frame(CONTACTS, [{
        "timestamp": pd.Timestamp("2026-11-20 10:00"), "customer_id": store.load().customers["customer_id"][0],
        "channel": "phone", "outcome": "note"}])}))
    assert store.writes()["tables"]["Contacts"]["fingerprint"] == "Contacts@7"


def test_told_that_a_table_changed_the_store_refuses_to_commit_and_keeps_its_writes(
        demo: dict[str, Table]) -> None:
    store = store_of(demo)
    led = store.load()
    upd = Changes(update={"Invoices": pd.DataFrame({"_row": led.invoices["_row"].iloc[:1],
                                                    "reminder_level": ["r1"]})})
    store.commit(upd)
    before = store.writes()
    store.observe({"Invoices": store.fingerprints()["Invoices"], "Payments": "something else"})
    with pytest.raises(StaleLedgerError) as e:
        store.check_writable()
    assert isinstance(e.value, ConflictError) and "Payments" in str(e.value)
    store.load()
    with pytest.raises(StaleLedgerError):
        store.commit(upd)
    assert store.writes() == before


def test_a_commit_that_cannot_be_written_records_nothing(demo: dict[str, Table]) -> None:
    store = store_of(demo)
    led = store.load()
    good = pd.DataFrame({"_row": led.invoices["_row"].iloc[:1], "reminder_level": ["r1"]})
    bad = pd.DataFrame({"_row": [9999], "payment_id": ["P-X"]})
    with pytest.raises(InputError):
        store.commit(Changes(update={"Invoices": good, "Payments": bad}))
    assert store.writes() == {"tables": {}, "edits": []}
    assert store.load().invoices["reminder_level"].iloc[0] == led.invoices["reminder_level"].iloc[0]


def test_commit_before_load_is_refused(demo: dict[str, Table]) -> None:
    with pytest.raises(StaleLedgerError):
        store_of(demo).commit(Changes(append={"Contacts": make_frame(CONTACTS, [{
            "timestamp": pd.Timestamp("2026-11-20 10:00"), "customer_id": "C1"}])}))


def test_refresh_through_the_protocol_then_nothing_left_to_write(demo: dict[str, Table]) -> None:
    from sync.cycle import refresh

    store = store_of(demo)
    n = refresh(store, AS_OF)
    assert n > 0 and store.writes()["edits"]
    applied = apply_writes(demo, store.writes())
    again = store_of(applied)
    assert refresh(again, AS_OF) == 0 and again.writes()["edits"] == []
