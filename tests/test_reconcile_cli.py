"""`cobro reconcile` end to end: statement in, Matches out, accepted lines applied exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from cobro_cli import run
from sync.xlsx_store import XlsxStore
from tests.bank_csv import write_csv


@pytest.fixture
def ledger(user_workbook: Path) -> Path:
    return user_workbook  # F-1 1210.00 EUR (210 paid), F-2 100.00 EUR, F-3 999.99 USD


def test_propose_auto_apply_once(ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stmt = write_csv(tmp_path / "extracto.csv", [
        "10/05/2024;10/05/2024;TRANSF ACME IBERICA SL FRA F-2;100,00;1.100,00",
        "11/05/2024;11/05/2024;=HYPERLINK(\"http://evil.example\");5,00;1.105,00",
        "12/05/2024;12/05/2024;RECIBO LUZ;-50,00;1.055,00",
    ])
    assert run(["reconcile", str(ledger), str(stmt), "--auto", "--as-of", "2024-05-12", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["lines"] == 3 and data["auto_accepted"] == 1
    first = data["proposals"][0]
    assert first["allocations"] == [{"invoice_id": "F-2", "amount": "100.00"}] and first["auto"]
    assert {p["status"] for p in data["proposals"][1:]} <= {"unmatched", "proposed"}
    led = XlsxStore(ledger).load()
    assert len(led.matches) == 3  # every line listed, debits and unmatched included
    assert led.matches["action"].tolist()[0] == "accept"
    ws = openpyxl.load_workbook(ledger)["Conciliación"]
    texts = [c.value for c in ws["E"] if isinstance(c.value, str)]
    assert any(t.startswith("'=HYPERLINK") for t in texts)  # bank text stays text

    assert run(["reconcile", str(ledger), "--apply", "--as-of", "2024-05-12"]) == 0
    pay = XlsxStore(ledger).load().payments
    new = pay[pay["source"] == "statement"]
    assert new[["invoice_id", "amount"]].values.tolist() == [["F-2", 10000]]
    assert new["statement_line"].iloc[0] == data["proposals"][0]["statement_line"]
    inv = XlsxStore(ledger).load().invoices.set_index("invoice_id")
    assert inv.loc["F-2", "balance"] == 0

    assert run(["reconcile", str(ledger), "--apply"]) == 0  # again: nothing added
    assert len(XlsxStore(ledger).load().payments) == len(pay)
    capsys.readouterr()
    assert run(["reconcile", str(ledger), str(stmt), "--json"]) == 0  # the same file again
    again = json.loads(capsys.readouterr().out)
    assert again["already_applied"] == 1 and again["auto_accepted"] == 0


def test_person_decisions_survive_a_new_proposal(ledger: Path, tmp_path: Path) -> None:
    stmt = write_csv(tmp_path / "e.csv", ["10/05/2024;10/05/2024;INGRESO VARIOS;100,00;100,00"])
    assert run(["reconcile", str(ledger), str(stmt), "--as-of", "2024-05-12"]) == 0
    wb = openpyxl.load_workbook(ledger)
    ws = wb["Conciliación"]
    headers = [c.value for c in ws[1]]
    ws.cell(row=2, column=headers.index("Facturas") + 1, value="F-2")
    ws.cell(row=2, column=headers.index("Acción") + 1, value="aceptar")
    ws.cell(row=2, column=headers.index("ID cliente") + 1, value="C1")
    wb.save(ledger)
    assert run(["reconcile", str(ledger), str(stmt), "--as-of", "2024-05-12"]) == 0
    m = XlsxStore(ledger).load().matches
    assert m["action"].tolist() == ["accept"] and m["invoice_ids"].tolist() == [("F-2",)]
    assert run(["reconcile", str(ledger), "--apply", "--as-of", "2024-05-12"]) == 0
    assert XlsxStore(ledger).load().invoices.set_index("invoice_id").loc["F-2", "balance"] == 0


def test_apply_refuses_over_allocation(ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stmt = write_csv(tmp_path / "e.csv", ["10/05/2024;10/05/2024;PAGO;100,00;100,00",
                                          "11/05/2024;11/05/2024;PAGO 2;100,00;200,00"])
    assert run(["reconcile", str(ledger), str(stmt), "--as-of", "2024-05-12"]) == 0
    wb = openpyxl.load_workbook(ledger)
    ws = wb["Conciliación"]
    headers = [c.value for c in ws[1]]
    for row in (2, 3):  # a person accepts both lines for the same 100.00 invoice
        ws.cell(row=row, column=headers.index("Facturas") + 1, value="F-2")
        ws.cell(row=row, column=headers.index("ID cliente") + 1, value="C1")
        ws.cell(row=row, column=headers.index("Acción") + 1, value="accept")
    wb.save(ledger)
    before = ledger.read_bytes()
    rc = run(["reconcile", str(ledger), "--apply", "--as-of", "2024-05-12"])
    # the second line has nothing left to pay on F-2: it becomes an advance or is refused, never over-allocated
    pay = XlsxStore(ledger).load().payments
    on_f2 = pay[pay["invoice_id"] == "F-2"]["amount"].sum()
    assert on_f2 <= 10000
    if rc == 2:
        assert ledger.read_bytes() == before


def test_pasted_statement_sheet(ledger: Path) -> None:
    wb = openpyxl.load_workbook(ledger)
    ws = wb.create_sheet("Extracto")
    ws.append(["10/05/2024", "Transferencia de ACME IBERICA factura F-2", "100,00"])  # no headers at all
    ws.append(["11/05/2024", "Comision mantenimiento", "-3,00"])
    wb.save(ledger)
    assert run(["reconcile", str(ledger), "--auto", "--as-of", "2024-05-12"]) == 0
    m = XlsxStore(ledger).load().matches
    assert len(m) == 2 and m["invoice_ids"].tolist()[0] == ("F-2",)


def test_statement_errors_are_clear(ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "roto.n43"
    bad.write_bytes(b"11XXXX garbage\x00\x01")
    assert run(["reconcile", str(ledger), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "cobro:" in err and "Traceback" not in err
    assert run(["reconcile", str(ledger)]) == 2  # no file and nothing pasted
    assert "Statement sheet is empty" in capsys.readouterr().err


def test_real_norma43_sample(ledger: Path, shared_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = shared_dir / "bank-samples" / "n43" / "sequra_example2_fragment.n43"
    assert run(["reconcile", str(ledger), str(sample), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "n43" and data["lines"] > 0
    assert data["unmatched"] + data["proposed"] + data["already_applied"] == data["lines"]
