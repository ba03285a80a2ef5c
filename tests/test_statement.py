"""Statements of account: the data (running balance, credits netted, aging, interest, the amount to pay), the A4
PDF (rendered to PNG with pdftoppm, checked to have content, the EPC QR decoded by zbarimg) and the command."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cobro.demo.generate import DEFAULT_AS_OF, generate_ledger
from cobro.ledger import Ledger, make_frame, parse_settings
from cobro.schema import CUSTOMERS, INVOICES, PAYMENTS
from cobro.statement import StatementError, customers_with_balance, statement_for, statements_for

IBAN = "ES91 2100 0418 4502 0005 1332"
PAY = {"iban": IBAN, "bic": "CAIXESBBXXX", "bizum": "600 111 222", "company_tax_id": "B50123456",
       "company_address": "Polígono Malpica, calle E 12\n50016 Zaragoza"}

needs_tools = pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("zbarimg") is None,
                                 reason="pdftoppm (poppler-utils) and zbarimg (zbar-tools) are needed")


def small_ledger(**extra: str) -> Ledger:
    """One customer: two invoices (one overdue across the mid-2025 rate change), a credit note, a payment on
    account and a partial payment."""
    base = generate_ledger(customers=2, invoices=4)
    raw = {"company_name": "Suministros Ebro, S.L.", "locale": "es", "base_currency": "EUR",
           "payment_instructions": "", **PAY, **extra}
    customers = make_frame(CUSTOMERS, [{"customer_id": "C1", "name": "Cliente Uno, S.L.", "tax_id": "B11111111",
                                        "language": "es", "currency": "EUR", "_row": 2}])
    invoices = make_frame(INVOICES, [
        {"invoice_id": "F-1", "customer_id": "C1", "issue_date": dt.datetime(2025, 4, 1),
         "due_date": dt.datetime(2025, 5, 31), "currency": "EUR", "amount": 1_200_000, "status": "open", "_row": 2},
        {"invoice_id": "F-2", "customer_id": "C1", "issue_date": dt.datetime(2025, 8, 1),
         "due_date": dt.datetime(2025, 8, 31), "currency": "EUR", "amount": 50_000, "status": "open", "_row": 3},
        {"invoice_id": "R-1", "customer_id": "C1", "issue_date": dt.datetime(2025, 7, 10),
         "due_date": dt.datetime(2025, 7, 10), "currency": "EUR", "amount": -30_000, "status": "open", "_row": 4},
    ])
    payments = make_frame(PAYMENTS, [
        {"payment_id": "P-1", "date": dt.datetime(2025, 6, 20), "customer_id": "C1", "invoice_id": "F-1",
         "amount": 200_000, "currency": "EUR", "reference": "TRF 1", "_row": 2},
        {"payment_id": "P-2", "date": dt.datetime(2025, 7, 20), "customer_id": "C1", "invoice_id": "",
         "amount": 10_000, "currency": "EUR", "reference": "A cuenta", "_row": 3},
    ])
    return base.replace(customers=customers, invoices=invoices, payments=payments, settings=parse_settings(raw))


def test_running_balance_credits_and_amount_to_pay() -> None:
    st = statement_for(small_ledger(), "C1", dt.date(2025, 8, 15))
    (sec,) = st.sections
    assert [(i.document, i.amount, i.days_overdue) for i in sec.invoices] == [("F-1", 1_000_000, 76),
                                                                            ("F-2", 50_000, -16)]
    # credits are amounts in the customer's favour: positive, and netted
    assert sorted((c.kind, c.amount) for c in sec.credits) == [("advance", 10_000), ("credit_note", 30_000)]
    assert sec.owed == 1_050_000 and sec.credit == 40_000 and sec.net == 1_010_000
    assert sec.movements[-1].balance == sec.net
    assert [m.kind for m in sec.movements] == ["invoice", "payment", "credit_note", "payment", "invoice"]
    # what is overdue (F-1), less the credits
    assert sec.to_pay == 960_000
    assert sec.payment_reference == "Fras. F-1"
    assert sec.epc_payload is not None and "EUR9600.00" in sec.epc_payload.split("\n")
    assert dict(sec.aging)["not_due"] == 50_000 and dict(sec.aging)["61-90"] == 1_000_000
    assert not sec.interest  # off unless Settings enable it


def test_interest_only_when_enabled_and_worked_like_the_interest_test() -> None:
    st = statement_for(small_ledger(late_interest_enabled="sí"), "C1", dt.date(2025, 8, 15))
    ((item, r),) = st.sections[0].interest
    # 10,000.00 EUR open on F-1 from 1 June to 15 August 2025: 219.56 EUR (see tests/test_interest.py)
    assert item.document == "F-1" and r.interest == 21956 and r.compensation == 4000


def test_unknown_customer_is_a_clear_error() -> None:
    with pytest.raises(StatementError, match='no customer "NOPE"'):
        statement_for(small_ledger(), "NOPE", dt.date(2025, 8, 15))
    assert statement_for(small_ledger(), "cliente uno, s.l.", dt.date(2025, 8, 15)).customer["customer_id"] == "C1"


def test_demo_statements_add_up() -> None:
    ledger = generate_ledger()
    ids = customers_with_balance(ledger, DEFAULT_AS_OF)
    assert ids
    assert statements_for(ledger, ids[:10], DEFAULT_AS_OF) == [statement_for(ledger, c, DEFAULT_AS_OF)
                                                              for c in ids[:10]]
    for cid in ids:
        for sec in statement_for(ledger, cid, DEFAULT_AS_OF).sections:
            assert sec.movements[-1].balance == sec.net
            assert all(i.amount > 0 for i in sec.invoices) and all(c.amount > 0 for c in sec.credits)


def _png(pdf: bytes, tmp: Path, dpi: int = 150) -> list[Path]:
    (tmp / "s.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(tmp / "s.pdf"), str(tmp / "page")], check=True)
    return sorted(tmp.glob("page-*.png"))


def _inked(png: Path) -> float:
    """Share of the page that is not white (a blank page is 0)."""
    from PIL import Image

    img = Image.open(png).convert("L")
    hist = img.histogram()
    return 1 - hist[255] / sum(hist)


@needs_tools
def test_pdf_has_content_and_the_qr_decodes_to_the_payload(tmp_path: Path) -> None:
    pytest.importorskip("PIL", reason="Pillow reads the rendered page")
    from cobro.pdf_statement import render_statement

    st = statement_for(small_ledger(late_interest_enabled="yes"), "C1", dt.date(2025, 8, 15))
    pdf = render_statement(st)
    assert pdf.startswith(b"%PDF") and render_statement(st) == pdf  # reproducible
    pages = _png(pdf, tmp_path)
    assert pages and _inked(pages[0]) > 0.02
    out = subprocess.run(["zbarimg", "-q", "--raw", "-Sbinary", str(pages[0])], capture_output=True,
                         check=True).stdout.decode("utf-8")
    assert out.rstrip("\n") == st.sections[0].epc_payload
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "s.pdf"), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")
    for needle in ("Extracto de cuenta", "ES91 2100 0418 4502 0005 1332", "9.600,00 EUR", "Créditos a su favor",
                   "219,56 EUR", "40,00 EUR", "Saldo pendiente"):
        assert needle in text, needle
    assert "-300,00" not in text  # the credit note is in the customer's favour, not a negative pending line


@needs_tools
def test_english_statement_of_a_demo_customer(tmp_path: Path) -> None:
    pytest.importorskip("PIL", reason="Pillow reads the rendered page")
    from cobro.pdf_statement import render_statement

    ledger = generate_ledger(locale="en")
    cid = customers_with_balance(ledger, DEFAULT_AS_OF)[0]
    st = statement_for(ledger, cid, DEFAULT_AS_OF)
    pages = _png(render_statement(st), tmp_path, dpi=60)
    assert pages and _inked(pages[0]) > 0.02
    assert st.language == "en"


def test_cli_one_and_all(tmp_path: Path) -> None:
    pytest.importorskip("segno")
    from cobro_cli import main
    from sheets_templates.workbook import build_workbook

    ledger = generate_ledger(customers=8, invoices=120)
    ledger = ledger.replace(settings=dataclasses.replace(ledger.settings, extra={**ledger.settings.extra, **PAY}))
    book = tmp_path / "cobro.xlsx"
    build_workbook(book, "es", ledger, DEFAULT_AS_OF)
    runner = CliRunner()
    cid = customers_with_balance(ledger, DEFAULT_AS_OF)[0]
    out = tmp_path / "one.pdf"
    r = runner.invoke(main, ["statement", str(book), cid, "--as-of", "2026-11-20", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF")
    r = runner.invoke(main, ["statement", str(book), "--all", "--as-of", "2026-11-20", "--out", str(tmp_path / "all")])
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "all").glob("*.pdf"))) == len(customers_with_balance(ledger, DEFAULT_AS_OF))
    r = runner.invoke(main, ["statement", str(book), "NOBODY", "--as-of", "2026-11-20"])
    assert r.exit_code == 2 and "NOBODY" in r.output and "Traceback" not in r.output
    r = runner.invoke(main, ["statement", str(book), "--as-of", "2026-11-20"])
    assert r.exit_code == 2 and "--all" in r.output


def test_early_payment_discount_is_shown_while_available() -> None:
    st = statement_for(small_ledger(early_payment_discount="2/20"), "C1", dt.date(2025, 8, 15))
    # F-2 issued 1 August 2025: 2 % of 500.00 until 21 August
    assert st.sections[0].discount == (Decimal(2), dt.date(2025, 8, 21), 1000)
    assert statement_for(small_ledger(early_payment_discount="2/20"), "C1", dt.date(2025, 8, 22)
                         ).sections[0].discount is None


def test_cli_statement_carries_the_logo_named_in_settings(tmp_path: Path) -> None:
    pytest.importorskip("segno")
    from cobro.payment import qr_png
    from cobro_cli import main
    from sheets_templates.workbook import build_workbook

    (tmp_path / "logo.png").write_bytes(qr_png("ACME"))  # any PNG will do
    ledger = generate_ledger(customers=3, invoices=30)
    cid = customers_with_balance(ledger, DEFAULT_AS_OF)[0]
    runner = CliRunner()
    sizes = []
    for logo in ("", "logo.png"):
        led = ledger.replace(settings=dataclasses.replace(ledger.settings, extra={**ledger.settings.extra, **PAY,
                                                                                  "logo": logo}))
        book = tmp_path / "cobro.xlsx"
        build_workbook(book, "es", led, DEFAULT_AS_OF)
        out = tmp_path / f"s{len(sizes)}.pdf"
        r = runner.invoke(main, ["statement", str(book), cid, "--as-of", "2026-11-20", "--out", str(out)])
        assert r.exit_code == 0, r.output
        sizes.append((out.read_bytes().count(b"/Subtype /Image"), len(out.read_bytes())))
    assert sizes[0][0] == 0 and sizes[1][0] == 1
