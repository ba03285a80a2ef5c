"""Review work never lost (issue 8): Matches rows per statement, decisions kept until applied or cleared,
apply takes every accepted row of every statement exactly once, and `cobro reconcile --clear`."""

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


def accept_row(ledger: Path, text_part: str, invoices: str, customer: str) -> None:
    wb = openpyxl.load_workbook(ledger)
    ws = wb["Conciliación"]
    headers = [c.value for c in ws[1]]
    for row in range(2, ws.max_row + 1):
        if text_part in str(ws.cell(row=row, column=headers.index("Concepto") + 1).value or ""):
            ws.cell(row=row, column=headers.index("Facturas") + 1, value=invoices)
            ws.cell(row=row, column=headers.index("Acción") + 1, value="aceptar")
            ws.cell(row=row, column=headers.index("ID cliente") + 1, value=customer)
    wb.save(ledger)


def test_a_second_statement_keeps_the_first_ones_decisions(ledger: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    first = write_csv(tmp_path / "mayo.csv", ["10/05/2024;10/05/2024;INGRESO VARIOS;100,00;100,00"])
    second = write_csv(tmp_path / "junio.csv", ["10/06/2024;10/06/2024;OTRO INGRESO;500,00;600,00"])
    assert run(["reconcile", str(ledger), str(first), "--as-of", "2024-05-12"]) == 0
    accept_row(ledger, "INGRESO VARIOS", "F-2", "C1")
    capsys.readouterr()
    assert run(["reconcile", str(ledger), str(second), "--as-of", "2024-06-12", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["statement"].startswith("junio.csv@") and data["other_statements_rows"] == 1
    m = XlsxStore(ledger).load().matches
    assert len(m) == 2
    assert m["action"].tolist()[0] == "accept" and m["invoice_ids"].tolist()[0] == ("F-2",)
    assert [s.split("@")[0] for s in m["statement"].tolist()] == ["mayo.csv", "junio.csv"]
    # Re-proposing the first statement keeps its decision and the second statement's rows.
    assert run(["reconcile", str(ledger), str(first), "--as-of", "2024-05-12"]) == 0
    m = XlsxStore(ledger).load().matches
    assert len(m) == 2 and "accept" in m["action"].tolist()
    # Apply applies every accepted row (whichever statement), once.
    assert run(["reconcile", str(ledger), "--apply", "--as-of", "2024-06-12"]) == 0
    assert XlsxStore(ledger).load().invoices.set_index("invoice_id").loc["F-2", "balance"] == 0
    n = len(XlsxStore(ledger).load().payments)
    assert run(["reconcile", str(ledger), "--apply", "--as-of", "2024-06-12"]) == 0
    assert len(XlsxStore(ledger).load().payments) == n


def test_an_empty_statement_removes_nothing(ledger: Path, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "mayo.csv", ["10/05/2024;10/05/2024;INGRESO VARIOS;100,00;100,00"])
    assert run(["reconcile", str(ledger), str(first), "--as-of", "2024-05-12"]) == 0
    accept_row(ledger, "INGRESO VARIOS", "F-2", "C1")
    empty = write_csv(tmp_path / "vacio.csv", [])
    run(["reconcile", str(ledger), str(empty), "--as-of", "2024-05-12"])  # refused or empty: either way
    m = XlsxStore(ledger).load().matches
    assert m["action"].tolist() == ["accept"]


def test_clear_one_statement_or_all(ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = write_csv(tmp_path / "mayo.csv", ["10/05/2024;10/05/2024;INGRESO VARIOS;100,00;100,00"])
    second = write_csv(tmp_path / "junio.csv", ["10/06/2024;10/06/2024;OTRO INGRESO;500,00;600,00",
                                                "11/06/2024;11/06/2024;MAS;5,00;605,00"])
    assert run(["reconcile", str(ledger), str(first), "--as-of", "2024-05-12"]) == 0
    assert run(["reconcile", str(ledger), str(second), "--as-of", "2024-06-12"]) == 0
    capsys.readouterr()
    assert run(["reconcile", str(ledger), "--clear", "junio.csv", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"cleared_rows": 2}
    m = XlsxStore(ledger).load().matches
    assert [s.split("@")[0] for s in m["statement"].tolist()] == ["mayo.csv"]
    assert run(["reconcile", str(ledger), "--clear", "nada.csv"]) != 0  # a clear message, nothing removed
    err = capsys.readouterr()
    assert "mayo.csv@" in err.out + err.err and "Traceback" not in err.out + err.err
    assert len(XlsxStore(ledger).load().matches) == 1
    assert run(["reconcile", str(ledger), "--clear"]) == 0
    assert XlsxStore(ledger).load().matches.empty


CAMT_PAY = """<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>1</MsgId></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><IBAN>ES9121000418450200051332</IBAN></Id><Ccy>EUR</Ccy></Acct>
{entries}
</Stmt></BkToCstmrStmt></Document>"""
CREDIT = """<Ntry><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2024-05-10</Dt></BookgDt><NtryDtls><TxDtls><Refs><EndToEndId>E2E-ORIG-1</EndToEndId></Refs>
<RmtInf><Ustrd>FRA F-2</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""
RETURN = """<Ntry><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts>
<BookgDt><Dt>2024-05-20</Dt></BookgDt><NtryDtls><TxDtls><Refs><EndToEndId>E2E-ORIG-1</EndToEndId></Refs>
<RtrInf><Rsn><Cd>MS03</Cd></Rsn></RtrInf></TxDtls></NtryDtls></Ntry>"""


def test_a_returned_payment_is_shown_as_its_reversal_and_never_applied(
        ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A minimal CAMT.053 (written here): a payment of F-2, applied; the bank's return of it (RvslInd, RtrInf)."""
    paid = tmp_path / "mayo.xml"
    paid.write_text(CAMT_PAY.format(entries=CREDIT), encoding="utf-8")
    assert run(["reconcile", str(ledger), str(paid), "--auto", "--as-of", "2024-05-12"]) == 0
    assert run(["reconcile", str(ledger), "--apply", "--as-of", "2024-05-12"]) == 0
    first = XlsxStore(ledger).load().payments
    applied_line = first[first["source"] == "statement"]["statement_line"].iloc[0]
    returned = tmp_path / "junio.xml"
    returned.write_text(CAMT_PAY.format(entries=RETURN), encoding="utf-8")
    capsys.readouterr()
    assert run(["reconcile", str(ledger), str(returned), "--auto", "--as-of", "2024-05-21", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["returns"] == 1 and data["auto_accepted"] == 0
    p = data["proposals"][0]
    assert p["status"] == "return" and p["kind"] == "return" and p["reverses"] == applied_line
    assert [a["invoice_id"] for a in p["allocations"]] == ["F-2"]
    wb = openpyxl.load_workbook(ledger)  # even if a person accepts it, it is not applied as a payment
    ws = wb["Conciliación"]
    headers = [c.value for c in ws[1]]
    kinds = [ws.cell(row=r, column=headers.index("Tipo") + 1).value for r in range(2, ws.max_row + 1)]
    row = 2 + kinds.index("return")
    ws.cell(row=row, column=headers.index("Acción") + 1, value="aceptar")
    wb.save(ledger)
    assert "accept" in XlsxStore(ledger).load().matches["action"].tolist()
    capsys.readouterr()
    assert run(["reconcile", str(ledger), "--apply", "--as-of", "2024-05-21", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["returns_not_applied"] == 1
    assert len(XlsxStore(ledger).load().payments) == len(first)
