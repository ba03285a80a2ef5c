"""The workbook is sacred: atomic writes, backups, kept extras, refusal on concurrent change."""

from __future__ import annotations

import os
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cobro.balances import invoice_balances
from sync.store import Changes, StaleLedgerError
from sync.xlsx_store import WorkbookError, XlsxStore, store_for


def test_load_types_everything(user_workbook: Path) -> None:
    led = XlsxStore(user_workbook).load()
    inv = led.invoices.set_index("invoice_id")
    assert inv.loc["F-1", "amount"] == 121000
    assert inv.loc["F-1", "due_date"] == pd.Timestamp("2024-03-31")  # 30 days terms
    assert inv.loc["F-3", "currency"] == "USD"
    assert inv.loc["F-1", "_row"] == 2
    assert led.payments["amount"].tolist() == [21000]
    assert led.settings.locale == "es"


def test_commit_updates_appends_and_keeps_user_things(user_workbook: Path) -> None:
    store = XlsxStore(user_workbook)
    led = store.load()
    b = invoice_balances(led, "2024-05-01")
    store.commit(Changes(
        update={"Invoices": b[["_row", "paid", "balance", "days_overdue", "currency"]]},
        append={"Payments": pd.DataFrame({"date": [pd.Timestamp("2024-04-20")], "customer_id": ["C1"],
                                          "invoice_id": ["F-2"], "amount": [5000], "currency": ["EUR"],
                                          "reference": ['=HYPERLINK("http://evil.example","click")'],
                                          "source": ["statement"]})}))
    wb = openpyxl.load_workbook(user_workbook)
    ws = wb["Facturas"]
    headers = [c.value for c in ws[1]]
    assert headers[-1] == "Doble"  # the user's extra column is still there …
    assert ws.cell(row=2, column=len(headers)).value == "=Facturas[[#This Row],[Importe]]*2" or \
        str(ws.cell(row=2, column=len(headers)).value).startswith("=")  # … with its formula
    assert ws.cell(row=2, column=2 + 4).number_format == "#,##0.00"  # amount format kept
    assert "Notas de Ana" in wb.sheetnames
    pay = wb["Pagos"]
    assert pay.tables["Payments"].ref == "A1:J3"  # the table grew by one row
    ref_col = [c.value for c in pay[1]].index("Referencia") + 1
    cell = pay.cell(row=3, column=ref_col)
    assert cell.data_type == "s" and cell.value.startswith("'=")  # bank text stays text
    led2 = XlsxStore(user_workbook).load()
    assert led2.invoices.set_index("invoice_id").loc["F-1", "balance"] == 100000
    assert len(led2.payments) == 2
    backups = list((user_workbook.parent / ".cobro-backups").glob("cobranza.*.xlsx"))
    assert len(backups) == 1


def test_refuses_when_file_changed_since_read(user_workbook: Path) -> None:
    store = XlsxStore(user_workbook)
    store.load()
    before = user_workbook.read_bytes()
    time.sleep(0.01)
    wb = openpyxl.load_workbook(user_workbook)
    wb["Clientes"]["B2"] = "Changed by a person"
    wb.save(user_workbook)
    changed = user_workbook.read_bytes()
    assert changed != before
    with pytest.raises(StaleLedgerError, match="changed since cobro read it"):
        store.commit(Changes(update={"Customers": pd.DataFrame({"_row": [2], "notes": ["x"]})}))
    assert user_workbook.read_bytes() == changed  # the person's edit survives


def test_failed_write_leaves_file_untouched(user_workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = XlsxStore(user_workbook)
    store.load()
    before = user_workbook.read_bytes()

    def boom(*a: object, **k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        store.commit(Changes(update={"Customers": pd.DataFrame({"_row": [2], "notes": ["x"]})}))
    assert user_workbook.read_bytes() == before
    assert not [p for p in user_workbook.parent.iterdir() if p.name.startswith(".cobranza.")]  # no temp left


def test_two_commits_in_one_run(user_workbook: Path) -> None:
    store = XlsxStore(user_workbook)
    store.load()
    store.commit(Changes(update={"Customers": pd.DataFrame({"_row": [2], "notes": ["one"]})}))
    store.commit(Changes(update={"Customers": pd.DataFrame({"_row": [3], "notes": ["two"]})}))
    led = XlsxStore(user_workbook).load()
    assert led.customers["notes"].tolist() == ["one", "two"]


def test_not_a_workbook(tmp_path: Path) -> None:
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(WorkbookError, match="not a readable .xlsx workbook"):
        XlsxStore(bad).load()
    with pytest.raises(WorkbookError, match="no such file"):
        XlsxStore(tmp_path / "missing.xlsx").load()
    with pytest.raises(WorkbookError, match=".xlsx workbooks"):
        store_for(tmp_path / "ledger.csv")


def test_english_workbook(tmp_path: Path) -> None:
    from tests.conftest import write_user_workbook

    path = write_user_workbook(tmp_path / "ledger.xlsx", locale="en")
    led = XlsxStore(path).load()
    assert led.settings.locale == "en"
    assert len(led.invoices) == 3


def test_sheets_in_any_order_and_settings_first(tmp_path: Path) -> None:
    """The reader pulls sheets in dependency order whatever their order in the file."""
    import openpyxl as ox

    from tests.conftest import write_user_workbook

    path = write_user_workbook(tmp_path / "l.xlsx")
    wb = ox.load_workbook(path)
    wb._sheets.reverse()  # Configuración first, Clientes last
    wb.save(path)
    led = XlsxStore(path).load()
    assert len(led.invoices) == 3 and led.invoices["currency"].tolist() == ["EUR", "EUR", "USD"]
    assert led.settings.locale == "es"


def test_gc_is_restored_after_a_failed_load(tmp_path: Path) -> None:
    import gc

    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really")
    assert gc.isenabled()
    with pytest.raises(WorkbookError):
        XlsxStore(bad).load()
    assert gc.isenabled()
