"""The demo, as of its default date: every e-mail, letter and statement carries a way to pay (issue 13 §2)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cobro.demo.generate import DEFAULT_AS_OF, generate_ledger
from cobro.reminders import plan_reminders
from cobro.statement import customers_with_balance, statement_for


def test_spanish_demo_messages_and_letters_carry_the_account_and_a_qr() -> None:
    pytest.importorskip("segno")
    ledger = generate_ledger()
    plan = plan_reminders(ledger, DEFAULT_AS_OF)
    assert plan.ok
    written = [i for i in plan.items if i.channel in ("email", "letter")]
    assert written
    for item in written:
        if item.channel == "email":
            assert "ES91 2100 0418 4502 0005 1332" in item.text, item.customer_id
            assert "Concepto / referencia: " in item.text or "Reference: " in item.text
            if list(item.totals) == ["EUR"]:
                assert item.epc_payload and 'src="cid:epc-qr@cobro"' in item.html
        else:
            assert item.letter_pdf
    for cid in customers_with_balance(ledger, DEFAULT_AS_OF)[:5]:
        st = statement_for(ledger, cid, DEFAULT_AS_OF)
        assert st.payment.iban == "ES9121000418450200051332"


def test_english_demo_messages_carry_the_payment_link() -> None:
    ledger = generate_ledger(locale="en")
    plan = plan_reminders(ledger, DEFAULT_AS_OF)
    emails = [i for i in plan.items if i.channel == "email"]
    assert emails
    for item in emails:
        if "Amount to pay" in item.text:  # (none when the customer's credits cover what is reminded)
            assert "https://pay.blueharbor-supply.example.com/invoice/" in item.text
        assert "ACH or wire" in item.text
    assert any("https://pay.blueharbor-supply.example.com/invoice/" in i.text for i in emails)


@pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("zbarimg") is None,
                    reason="pdftoppm (poppler-utils) and zbarimg (zbar-tools) are needed")
def test_demo_letter_and_statement_pages_have_content_and_a_readable_qr(tmp_path: Path) -> None:
    pytest.importorskip("segno")
    from cobro.pdf_statement import render_statement

    ledger = generate_ledger()
    plan = plan_reminders(ledger, DEFAULT_AS_OF)
    letters = [i for i in plan.items if i.channel == "letter" and i.epc_payload]
    docs: list[tuple[bytes, str]] = [(i.letter_pdf, i.epc_payload) for i in letters[:1] if i.letter_pdf]
    cid = customers_with_balance(ledger, DEFAULT_AS_OF)[0]
    st = statement_for(ledger, cid, DEFAULT_AS_OF)
    docs.append((render_statement(st), st.sections[0].epc_payload or ""))
    for n, (pdf, payload) in enumerate(docs):
        path = tmp_path / f"d{n}.pdf"
        path.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "3", str(path), str(tmp_path / f"d{n}")],
                       check=True)
        pages = sorted(tmp_path.glob(f"d{n}-*.png"))
        assert pages and all(p.stat().st_size > 20_000 for p in pages[:1])
        if payload:
            decoded = set()
            for page in pages:
                r = subprocess.run(["zbarimg", "-q", "--raw", "-Sbinary", str(page)], capture_output=True)
                if r.returncode == 0:
                    decoded.add(r.stdout.decode("utf-8").rstrip("\n"))
            assert decoded == {payload}
