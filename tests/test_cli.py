"""The command line as a user meets it: help with examples, readable errors, refresh, new, JSON money."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from cobro_cli import main, run
from sync.xlsx_store import XlsxStore


def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    for name, cmd in main.commands.items():
        assert run([name, "--help"]) == 0
        out = capsys.readouterr().out
        assert "Example" in out, name
        for param in cmd.params:
            if isinstance(param, __import__("click").Option) and not param.hidden and param.name != "help":
                assert param.help, f"{name} {param.opts}"


def test_user_errors_exit_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["aging", str(tmp_path / "missing.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err
    assert run(["aging", str(tmp_path / "x.csv")]) == 2
    assert ".xlsx" in capsys.readouterr().err
    assert run(["aging", str(tmp_path / "x.xlsx"), "--as-of", "31/02/2024"]) == 2
    assert "not a date" in capsys.readouterr().err


def test_new_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nuevo.xlsx"
    assert run(["new", str(path), "--locale", "es"]) == 0
    assert run(["new", str(path)]) == 2
    assert "cobro:" in capsys.readouterr().err
    assert len(XlsxStore(path).load().invoices) == 0


def test_refresh_writes_derived_columns_once(user_workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["refresh", str(user_workbook), "--as-of", "2024-05-01"]) == 0
    assert "3 invoice row(s) updated" in capsys.readouterr().out
    inv = XlsxStore(user_workbook).load().invoices.set_index("invoice_id")
    assert inv.loc["F-1", "paid"] == 21000 and inv.loc["F-1", "balance"] == 100000
    assert inv.loc["F-1", "days_overdue"] == 31
    pay = XlsxStore(user_workbook).load().payments
    assert pay["payment_id"].iloc[0].startswith("P-")  # generated when blank
    assert run(["refresh", str(user_workbook), "--as-of", "2024-05-01"]) == 0
    assert "0 invoice row(s) updated" in capsys.readouterr().out
    ws = openpyxl.load_workbook(user_workbook)["Facturas"]
    assert [c.value for c in ws[1]][-1] == "Doble"  # the user's column survives


def test_aging_json_amounts_are_decimal_strings(user_workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["aging", str(user_workbook), "--as-of", "2024-05-01", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["EUR"]["outstanding"] == "1100.00"
    assert data["totals"]["USD"]["outstanding"] == "999.99"
    assert set(data) == {"as_of", "buckets", "rows", "totals"}
    assert run(["aging", str(user_workbook), "--as-of", "2024-05-01", "--by", "invoice"]) == 0
    assert "F-1" in capsys.readouterr().out


def test_kpis_and_worklist_tables(user_workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["kpis", str(user_workbook), "--as-of", "2024-05-01"]) == 0
    out = capsys.readouterr().out
    assert "EUR" in out and "CEI" in out
    assert run(["worklist", str(user_workbook), "--as-of", "2024-05-01"]) == 0
    assert "C1" in capsys.readouterr().out


def test_demo_date_is_a_working_day() -> None:
    import datetime as dt

    from cobro_cli import last_working_day

    assert last_working_day(dt.date(2026, 11, 22), "ES") == dt.date(2026, 11, 20)  # Sunday -> Friday
    assert last_working_day(dt.date(2026, 12, 25), "ES") == dt.date(2026, 12, 24)  # Christmas
    assert last_working_day(dt.date(2026, 11, 20), "ES") == dt.date(2026, 11, 20)
