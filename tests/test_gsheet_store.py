"""The Google Sheet store against a local fake of the Sheets v4 API, through gspread's real HTTP client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import pytest

from sheets_templates.gsheet import create_google_sheet
from sync.gsheet_store import GoogleSheetStore
from sync.gsheets import client, is_google_sheet, spreadsheet_key
from sync.store import Changes, StaleLedgerError
from tests.fake_sheets import FakeSheetsApi

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture
def api() -> Iterator[FakeSheetsApi]:
    with FakeSheetsApi() as fake:
        yield fake


def _client(api: FakeSheetsApi) -> object:
    return client({"COBRO_SHEETS_API_URL": api.url}, sleep=lambda s: None)


def _demo(customers: int = 8, invoices: int = 40) -> object:
    from cobro.demo.generate import generate_ledger

    return generate_ledger(customers=customers, invoices=invoices, seed=3, locale="es", as_of=AS_OF)


def test_keys_and_urls() -> None:
    key = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd"
    assert spreadsheet_key(f"https://docs.google.com/spreadsheets/d/{key}/edit#gid=0") == key
    assert spreadsheet_key(key) == key and spreadsheet_key(f"gsheet:{key}") == key
    assert not is_google_sheet("cobranza.xlsx") and not is_google_sheet("./ledgers/c.xlsx")


def test_template_round_trip_and_share(api: FakeSheetsApi) -> None:
    gc = _client(api)
    led = _demo()
    key = create_google_sheet(gc, "Cobranza", locale="es", share_with=["ana@empresa.es"], ledger=led, as_of=AS_OF)
    book = api.books[key]
    assert book.permissions[0]["emailAddress"] == "ana@empresa.es"
    assert {"cobro_Invoices", "cobro_Customers", "cobro_Settings"} <= set(book.named)
    api.reset_counts()
    store = GoogleSheetStore(key, gclient=gc)
    got = store.load()
    assert api.counts() == {"read": 1, "write": 0}  # one values:batchGet, no metadata call
    assert len(got.invoices) == len(led.invoices)
    assert got.invoices["amount"].tolist() == led.invoices["amount"].tolist()  # exact minor units
    assert got.customers["customer_id"].tolist() == led.customers["customer_id"].tolist()


def test_text_that_looks_like_a_number_stays_text(api: FakeSheetsApi) -> None:
    gc = _client(api)
    key = create_google_sheet(gc, "C", locale="es", ledger=_demo(3, 5), as_of=AS_OF)
    store = GoogleSheetStore(key, gclient=gc)
    led = store.load()
    row = led.customers.iloc[[0]][["_row"]].copy()
    row["notes"] = "123,45"
    store.commit(Changes(update={"Customers": row}))
    again = GoogleSheetStore(key, gclient=gc).load()
    assert again.customers["notes"].iloc[0] == "123,45"


def test_append_update_and_call_budget(api: FakeSheetsApi) -> None:
    gc = _client(api)
    key = create_google_sheet(gc, "C", locale="es", ledger=_demo(), as_of=AS_OF)
    store = GoogleSheetStore(key, gclient=gc)
    led = store.load()
    api.reset_counts()
    contacts = led.contacts.head(0).drop(columns=["_row"], errors="ignore")
    new = pd.DataFrame([{"timestamp": pd.Timestamp("2026-11-20 10:00"), "customer_id": led.customers["customer_id"][0],
                         "invoice_ids": ("X1",), "channel": "phone", "direction": "out", "level": "",
                         "outcome": "no_answer", "promise_date": pd.NaT, "promise_amount": None, "user": "ana",
                         "subject": "", "notes": "=HYPERLINK(\"http://x\")", "message_id": ""}])
    new = new[[c for c in contacts.columns if c in new.columns]]
    upd = led.invoices.iloc[:3][["_row"]].copy()
    upd["reminder_level"] = "first"
    store.commit(Changes(append={"Contacts": new}, update={"Invoices": upd}))
    assert api.counts() == {"read": 1, "write": 1}  # the check read, then one values:batchUpdate
    again = GoogleSheetStore(key, gclient=gc).load()
    assert len(again.contacts) == len(led.contacts) + 1
    assert again.contacts["notes"].iloc[-1].startswith("'=HYPERLINK")  # neutralized, stays text
    assert again.invoices["reminder_level"].iloc[:3].tolist() == ["first"] * 3


def test_stale_read_writes_nothing(api: FakeSheetsApi) -> None:
    gc = _client(api)
    key = create_google_sheet(gc, "C", locale="es", ledger=_demo(), as_of=AS_OF)
    store = GoogleSheetStore(key, gclient=gc)
    led = store.load()
    book = api.books[key]
    edited_row = int(led.invoices["_row"].iloc[1])
    book.set("Facturas", f"A{edited_row}", "EDITED")  # someone edits an invoice row after cobro read it
    before = book.table("Facturas")
    api.reset_counts()
    upd = led.invoices.iloc[:3][["_row"]].copy()
    upd["reminder_level"] = "first"
    with pytest.raises(StaleLedgerError, match="'Facturas' changed since cobro read it"):
        store.commit(Changes(update={"Invoices": upd}))
    assert api.counts() == {"read": 1, "write": 0}  # the check read found it: nothing was written
    assert book.table("Facturas") == before


def test_rows_added_by_a_person_below_the_table_are_not_overwritten(api: FakeSheetsApi) -> None:
    gc = _client(api)
    key = create_google_sheet(gc, "C", locale="es", ledger=_demo(), as_of=AS_OF)
    store = GoogleSheetStore(key, gclient=gc)
    led = store.load()
    book = api.books[key]
    last = int(led.contacts["_row"].max()) if len(led.contacts) else 1
    book.set("Gestiones", f"B{last + 1}", "typed by a person")
    new = led.contacts.iloc[:1].drop(columns=["_row"])
    with pytest.raises(StaleLedgerError):
        store.commit(Changes(append={"Contacts": new}))


def test_quota_errors_are_retried(api: FakeSheetsApi) -> None:
    gc = _client(api)
    key = create_google_sheet(gc, "C", locale="es", ledger=_demo(3, 5), as_of=AS_OF)
    api.fail_next(429, 2)
    api.fail_next(503, 1)
    led = GoogleSheetStore(key, gclient=gc).load()
    assert len(led.invoices) == 5


def test_batch_reads_once_and_writes_once(api: FakeSheetsApi) -> None:
    gc = _client(api)
    key = create_google_sheet(gc, "C", locale="es", ledger=_demo(), as_of=AS_OF)
    store = GoogleSheetStore(key, gclient=gc)
    api.reset_counts()
    with store.batch():
        led = store.load()
        upd = led.invoices.iloc[:2][["_row"]].copy()
        upd["reminder_level"] = "first"
        store.commit(Changes(update={"Invoices": upd}))
        led2 = store.load()
        store.commit(Changes(append={"Contacts": led2.contacts.iloc[:1].drop(columns=["_row"])}))
    assert api.counts() == {"read": 2, "write": 1}


def test_every_command_takes_a_google_sheet(api: FakeSheetsApi, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    import json

    from cobro_cli import run

    monkeypatch.setenv("COBRO_SHEETS_API_URL", api.url)
    monkeypatch.setenv("COBRO_HOME", str(tmp_path))
    assert run(["new", "Cobranza equipo", "--google-sheet", "--share", "ana@empresa.es"]) == 0
    key = next(iter(api.books))
    assert key in capsys.readouterr().out
    url = f"https://docs.google.com/spreadsheets/d/{key}/edit#gid=0"
    for cmd in (["aging", url, "--json", "--as-of", "2026-11-20"], ["kpis", key, "--json", "--as-of", "2026-11-20"],
                ["worklist", key, "--json", "--as-of", "2026-11-20"]):
        assert run(cmd) == 0, cmd
        json.loads(capsys.readouterr().out)
    assert run(["refresh", key, "--as-of", "2026-11-20"]) == 0
    assert run(["new", "x", "--google-sheet", "--share", "not-an-address"]) == 2


@pytest.mark.parametrize("invoices", [10, 10_000])
def test_daily_cycle_call_budget(api: FakeSheetsApi, monkeypatch: pytest.MonkeyPatch, tmp_path: object,
                                 invoices: int) -> None:
    """The whole daily cycle (refresh, plan, send, log) costs the same calls for 10 rows and for 10,000."""
    from cobro.demo.generate import generate_ledger
    from sync.scheduler import daily_cycle

    monkeypatch.setenv("COBRO_SHEETS_API_URL", api.url)
    monkeypatch.setenv("COBRO_HOME", str(tmp_path))
    led = generate_ledger(customers=max(3, invoices // 25), invoices=invoices, seed=5, locale="es", as_of=AS_OF)
    gc = _client(api)
    key = create_google_sheet(gc, "C", locale="es", ledger=led, as_of=AS_OF)
    api.reset_counts()
    result = daily_cycle(key, AS_OF, use_env=False)
    counts = api.counts()
    assert counts["read"] <= 2 and counts["write"] <= 3, counts
    after = GoogleSheetStore(key, gclient=gc).load()
    sent = [r.message_id for r in result.batch.sent] if result.batch is not None else []
    assert set(sent) <= set(after.contacts["message_id"])  # every message sent is logged
    if invoices == 10_000:
        assert sent, "the 10,000-row ledger has reminders due"
    # A second run the same day sends nothing again and still keeps to the budget.
    api.reset_counts()
    again = daily_cycle(key, AS_OF, use_env=False)
    assert again.batch is None or not again.batch.sent
    assert api.counts()["read"] <= 2
