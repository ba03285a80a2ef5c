"""One contract for every ``LedgerStore``: the same suite runs against the .xlsx file store, the table store and
the Google Sheet store (over the local fake of the Sheets API).

Each store comes in a *kit* that knows how to do, from outside, what a person or a host does to the ledger
(``edit``: change a cell behind the store's back; ``reopen``: read the ledger afresh after the writes were applied;
``occupy``: make a write impossible for a reason known now). The tests use the store only through the protocol:
``load``, ``commit``, ``describe``, ``check_writable``, ``locale``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from cobro.defaults import default_templates
from cobro.errors import ConflictError
from cobro.ledger import Ledger, LedgerError, empty_ledger, make_frame, parse_settings
from cobro.schema import CONTACTS, CUSTOMERS, INVOICES, MATCHES, PAYMENTS, SHEETS_BY_KEY
from sheets_templates import build_workbook
from sync.store import Changes, LedgerStore, StaleLedgerError
from sync.table_store import Table, TableStore, apply_writes
from sync.xlsx_store import XlsxStore
from tests.test_table_store import cell_index, host_tables, wire

AS_OF = dt.date(2026, 11, 20)


def contract_ledger() -> Ledger:
    """Two currencies (EUR and the zero-decimal CLP), three invoices, one payment: small, but every kind of cell."""
    settings = parse_settings({"locale": "es", "company_name": "Demo S.L.", "sender_email": "cobros@demo.example",
                               "timezone": "Europe/Madrid", "base_currency": "EUR"})
    customers = make_frame(CUSTOMERS, [
        {"customer_id": "C1", "name": "Uno S.L.", "email": ("c1@uno.example",), "currency": "EUR"},
        {"customer_id": "C2", "name": "Dos SpA", "email": ("c2@dos.example",), "currency": "CLP"}])
    invoices = make_frame(INVOICES, [
        {"invoice_id": "F-1", "customer_id": "C1", "issue_date": pd.Timestamp("2026-10-01"),
         "due_date": pd.Timestamp("2026-10-31"), "amount": 125010, "currency": "EUR"},
        {"invoice_id": "F-2", "customer_id": "C1", "issue_date": pd.Timestamp("2026-10-15"),
         "due_date": pd.Timestamp("2026-11-14"), "amount": 50000, "currency": "EUR"},
        {"invoice_id": "F-3", "customer_id": "C2", "issue_date": pd.Timestamp("2026-09-01"),
         "due_date": pd.Timestamp("2026-10-01"), "amount": 1234567, "currency": "CLP"}])
    payments = make_frame(PAYMENTS, [
        {"payment_id": "P-1", "date": pd.Timestamp("2026-11-02"), "customer_id": "C1", "invoice_id": "F-1",
         "amount": 25010, "currency": "EUR", "method": "transfer"}])
    return replace(empty_ledger(settings), customers=customers, invoices=invoices, payments=payments,
                   templates=default_templates())


def ledger_file(path: Path) -> Path:
    build_workbook(path, locale="es", ledger=contract_ledger(), as_of=AS_OF)
    return path


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return ledger_file(tmp_path_factory.mktemp("contract") / "c.xlsx").read_bytes()


# ------------------------------------------------------------------------------------------- the kits


@dataclass
class Kit:
    name: str
    store: Callable[[], LedgerStore]  # a store over the ledger as it is now
    reopen: Callable[[LedgerStore], Ledger]  # the writes applied (by the host, for tables), read afresh
    edit: Callable[[str, int, str, Any], None]  # (sheet key, sheet row, column key, value) behind the store's back
    occupy: Callable[[], None]  # a write is now impossible for a reason known before writing
    snapshot: Callable[[], Any]  # what a person would see; equal before and after a refused write


def xlsx_kit(tmp_path: Path, book: bytes) -> Kit:
    path = tmp_path / "cobranza.xlsx"
    path.write_bytes(book)

    def edit(sheet: str, row: int, column: str, value: Any) -> None:
        wb = openpyxl.load_workbook(path)
        ws = wb[SHEETS_BY_KEY[sheet].title("es")]
        headers = [c.value for c in ws[1]]
        ws.cell(row=row, column=headers.index(SHEETS_BY_KEY[sheet].column(column).header("es")) + 1, value=value)
        wb.save(path)

    def occupy() -> None:
        (tmp_path / f"~${path.name}").write_bytes(b"owner")  # Excel's owner file: the workbook is open

    return Kit("xlsx", lambda: XlsxStore(path), lambda store: XlsxStore(path).load(), edit, occupy,
               path.read_bytes)


def tables_kit(tmp_path: Path, book: bytes) -> Kit:
    path = tmp_path / "host.xlsx"
    path.write_bytes(book)
    host: dict[str, dict[str, Table]] = {"tables": host_tables(path)}

    def current() -> dict[str, str]:  # the host's fingerprints now, as a live host reports them at commit time
        return TableStore(wire(host["tables"])).fingerprints()

    def store() -> LedgerStore:
        return TableStore(wire(host["tables"]), recheck=current)

    def reopen(st: LedgerStore) -> Ledger:
        assert isinstance(st, TableStore)
        host["tables"] = apply_writes(host["tables"], json.loads(json.dumps(st.writes())))  # as sent over HTTP
        return TableStore(wire(host["tables"])).load()

    def edit(sheet: str, row: int, column: str, value: Any) -> None:
        t = host["tables"][sheet]
        rows = [list(r) for r in t.rows]
        idx = row - t.header_row - 1
        rows[idx][cell_index(t, column)] = value
        host["tables"] = {**host["tables"], sheet: replace(t, rows=rows)}

    def occupy() -> None:
        edit("Customers", 2, "notes", "someone typed here")

    return Kit("tables", store, reopen, edit, occupy, lambda: json.dumps(wire(host["tables"]), default=str))


def gsheet_kit(tmp_path: Path, book: bytes) -> Iterator[Kit]:
    """The same ledger as a Google Sheet in the local fake of the Sheets API, through gspread's HTTP client."""
    from sheets_templates.gsheet import create_google_sheet
    from sync.gsheet_store import GoogleSheetStore
    from sync.gsheets import client
    from tests.fake_sheets import FakeSheetsApi, col_letters

    with FakeSheetsApi() as api:
        gc = client({"COBRO_SHEETS_API_URL": api.url}, sleep=lambda s: None)
        key = create_google_sheet(gc, "contrato", locale="es", ledger=contract_ledger(), as_of=AS_OF)
        sheet = api.books[key]

        def edit(key_: str, row: int, column: str, value: Any) -> None:
            spec = SHEETS_BY_KEY[key_]
            title = spec.title("es")
            col = sheet.table(title)[0].index(spec.column(column).header("es"))
            sheet.set(title, f"{col_letters(col)}{row}", value)

        def occupy() -> None:
            pytest.skip("a Google Sheet has no owner lock: a concurrent edit is caught by the check read before "
                        "each write (test_a_stale_read_is_refused_and_nothing_is_written)")

        yield Kit("gsheet", lambda: GoogleSheetStore(key, gclient=gc),
                  lambda store: GoogleSheetStore(key, gclient=gc).load(), edit, occupy,
                  lambda: json.dumps([(s.title, sorted(s.cells.items())) for s in sheet.sheets], default=str))


@pytest.fixture(params=["xlsx", "tables", "gsheet"])
def kit(request: pytest.FixtureRequest, tmp_path: Path, book: bytes) -> Iterator[Kit]:
    if request.param == "gsheet":
        yield from gsheet_kit(tmp_path, book)
    else:
        yield (xlsx_kit if request.param == "xlsx" else tables_kit)(tmp_path, book)


def _row(led: Ledger, frame: str, key: str, value: str) -> int:
    f = getattr(led, frame)
    return int(f.loc[f[key] == value, "_row"].iloc[0])


# ------------------------------------------------------------------------------------------- the contract


def test_load_gives_typed_frames_located_by_sheet_row(kit: Kit) -> None:
    store = kit.store()
    led = store.load()
    assert store.locale == "es" and store.describe()
    assert led.customers["customer_id"].tolist() == ["C1", "C2"]
    inv = led.invoices.set_index("invoice_id")
    assert inv["amount"].to_dict() == {"F-1": 125010, "F-2": 50000, "F-3": 1234567}  # CLP: no cents
    assert inv["currency"].to_dict() == {"F-1": "EUR", "F-2": "EUR", "F-3": "CLP"}
    assert inv.loc["F-1", "due_date"] == pd.Timestamp("2026-10-31")
    assert inv["_row"].tolist() == [2, 3, 4]
    assert led.payments["amount"].tolist() == [25010]
    assert led.settings.timezone == "Europe/Madrid" and led.settings.base_currency == "EUR"
    assert len(led.templates) and len(led.levels)


def test_bad_cells_are_refused_naming_sheet_row_and_column(kit: Kit) -> None:
    kit.edit("Invoices", 3, "amount", "mil euros")
    kit.edit("Invoices", 4, "issue_date", "31/02/2026")
    kit.edit("Payments", 2, "customer_id", "C9")
    with pytest.raises(LedgerError) as e:
        kit.store().load()
    where = {(p.sheet, p.row, p.column) for p in e.value.problems}
    assert where == {("Invoices", 3, "amount"), ("Invoices", 4, "issue_date"), ("Payments", 2, "customer_id")}
    message = e.value.render("es")
    assert "Facturas, fila 3" in message and "Importe" in message and e.value.http_status == 422


def test_updates_are_visible_on_reload_and_to_the_same_store(kit: Kit) -> None:
    store = kit.store()
    led = store.load()
    rows = led.invoices["_row"].iloc[[0, 2]].to_numpy()
    upd = pd.DataFrame({"_row": rows, "currency": ["EUR", "CLP"], "reminder_level": ["r1", "r2"],
                        "last_contact": pd.to_datetime(["2026-11-19", "2026-11-20"]),
                        "balance": pd.array([100000, 1234567], dtype="Int64")})
    store.commit(Changes(update={"Invoices": upd}))
    for seen in (store.load(), kit.reopen(store)):
        inv = seen.invoices.set_index("invoice_id")
        assert inv.loc["F-1", "reminder_level"] == "r1" and inv.loc["F-3", "reminder_level"] == "r2"
        assert inv.loc["F-3", "last_contact"] == pd.Timestamp("2026-11-20")
        assert inv.loc["F-1", "balance"] == 100000 and inv.loc["F-3", "balance"] == 1234567
        assert inv.loc["F-2", "reminder_level"] == ""  # untouched rows stay as they were
        assert inv.loc["F-3", "amount"] == 1234567


def test_appends_are_visible_on_reload_exactly(kit: Kit) -> None:
    store = kit.store()
    store.load()
    contacts = make_frame(CONTACTS, [
        {"timestamp": pd.Timestamp("2026-11-20 09:30:15"), "customer_id": "C1", "invoice_ids": ("F-1", "F-2"),
         "channel": "email", "direction": "out", "level": "r1", "outcome": "sent", "subject": "=1+1",
         "message_id": "<a@b>"},
        {"timestamp": pd.Timestamp("2026-11-20 10:00"), "customer_id": "C2", "channel": "phone",
         "outcome": "promise", "promise_date": pd.Timestamp("2026-11-27")}])
    payments = make_frame(PAYMENTS, [
        {"payment_id": "P-2", "date": pd.Timestamp("2026-11-19"), "customer_id": "C1", "invoice_id": "F-2",
         "amount": 10, "currency": "EUR", "method": "card", "source": "statement"}])
    store.commit(Changes(append={"Contacts": contacts, "Payments": payments}))
    for seen in (store.load(), kit.reopen(store)):
        c = seen.contacts
        assert c["customer_id"].tolist() == ["C1", "C2"]
        assert c["timestamp"].tolist() == [pd.Timestamp("2026-11-20 09:30:15"), pd.Timestamp("2026-11-20 10:00")]
        assert c["invoice_ids"].iloc[0] == ("F-1", "F-2") and c["outcome"].tolist() == ["sent", "promise"]
        assert c["subject"].iloc[0].endswith("=1+1") and c["subject"].iloc[0] != "2"  # text, never a formula
        assert c["promise_date"].iloc[1] == pd.Timestamp("2026-11-27") and c["promise_amount"].isna().all()
        p = seen.payments.set_index("payment_id")
        assert p.loc["P-2", "amount"] == 10 and p.loc["P-2", "method"] == "card"
        assert p.loc["P-2", "source"] == "statement" and p.loc["P-1", "amount"] == 25010
        assert p["_row"].tolist() == [2, 3]


def test_money_of_a_row_without_currency_is_in_its_customers_currency(kit: Kit, request: pytest.FixtureRequest
                                                                        ) -> None:
    """A Contacts row has no currency column: its promised amount is in the customer's currency (CLP here), as
    ``POST /api/contacts`` and ``cobro log`` hand it over."""
    store = kit.store()
    store.load()
    store.commit(Changes(append={"Contacts": make_frame(CONTACTS, [
        {"timestamp": pd.Timestamp("2026-11-20 10:00"), "customer_id": "C2", "channel": "phone",
         "outcome": "promise", "promise_date": pd.Timestamp("2026-11-27"), "promise_amount": 5000}])}))
    assert kit.reopen(store).contacts["promise_amount"].tolist() == [5000]


def test_replace_is_visible_on_reload(kit: Kit) -> None:
    store = kit.store()
    store.load()
    two = make_frame(MATCHES, [
        {"statement_line": "L1", "date": pd.Timestamp("2026-11-19"), "amount": 50000, "currency": "EUR",
         "invoice_ids": ("F-2",), "customer_id": "C1", "confidence": 0.95, "action": "accept"},
        {"statement_line": "L2", "amount": 700, "currency": "CLP", "reason": "amount only"}])
    store.commit(Changes(replace={"Matches": two}))
    one = make_frame(MATCHES, [{"statement_line": "L3", "amount": 1, "currency": "EUR"}])
    store.load()
    store.commit(Changes(replace={"Matches": one}))
    for seen in (store.load(), kit.reopen(store)):
        assert seen.matches["statement_line"].tolist() == ["L3"]
        assert seen.matches["amount"].tolist() == [1]


def test_several_commits_of_one_run_build_on_each_other(kit: Kit) -> None:
    from sync.cycle import refresh

    store = kit.store()
    assert refresh(store, AS_OF) == 3
    store.commit(Changes(append={"Contacts": make_frame(CONTACTS, [
        {"timestamp": pd.Timestamp("2026-11-20 09:00"), "customer_id": "C1", "outcome": "note"}])}))
    seen = kit.reopen(store)
    assert seen.invoices.set_index("invoice_id")["balance"].to_dict() == {"F-1": 100000, "F-2": 50000,
                                                                          "F-3": 1234567}
    assert len(seen.contacts) == 1
    assert refresh(kit.store(), AS_OF) == 0  # nothing left to write


def test_a_stale_read_is_refused_and_nothing_is_written(kit: Kit) -> None:
    store = kit.store()
    led = store.load()
    kit.edit("Customers", 3, "notes", "saved by someone else meanwhile")
    before = kit.snapshot()
    upd = pd.DataFrame({"_row": led.invoices["_row"].iloc[:1], "reminder_level": ["r1"]})
    with pytest.raises(StaleLedgerError) as e:
        store.commit(Changes(update={"Invoices": upd}))
    assert isinstance(e.value, ConflictError) and e.value.http_status == 409
    assert kit.snapshot() == before
    seen = kit.reopen(store)
    assert seen.invoices["reminder_level"].iloc[0] == ""
    assert seen.customers["notes"].iloc[1] == "saved by someone else meanwhile"


def test_commit_before_load_is_refused(kit: Kit) -> None:
    with pytest.raises(StaleLedgerError):
        kit.store().commit(Changes(append={"Contacts": make_frame(CONTACTS, [
            {"timestamp": pd.Timestamp("2026-11-20 09:00"), "customer_id": "C1"}])}))


def test_an_empty_commit_writes_nothing(kit: Kit) -> None:
    store = kit.store()
    store.load()
    before = kit.snapshot()
    store.commit(Changes())
    assert kit.snapshot() == before


def test_check_writable_says_before_anything_is_done(kit: Kit) -> None:
    store = kit.store()
    store.load()
    store.check_writable()  # nothing in the way
    kit.occupy()
    with pytest.raises(ConflictError) as e:
        store.check_writable()
    assert e.value.http_status == 409 and e.value.exit_code == 2 and str(e.value)
