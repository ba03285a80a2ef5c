"""Every message carries a way to pay (issue 13 §2) and credits read as credits (§1): the default texts in a real
plan, with payment details in Settings."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from cobro.defaults import default_levels, default_templates
from cobro.ledger import empty_ledger, make_frame, parse_settings
from cobro.reminders import plan_reminders
from cobro.schema import CUSTOMERS, INVOICES

DUE = dt.date(2026, 3, 2)
PAY = {"iban": "ES91 2100 0418 4502 0005 1332", "bic": "CAIXESBBXXX", "bizum": "600 111 222",
       "payment_link_template": "https://pagos.example.com/?f={invoice}&i={amount}"}


def ledger(**settings: str):
    s = parse_settings({"sender_email": "cobros@demo.example", "company_name": "Suministros Ebro, S.L.",
                        "business_days_only": "no", "payment_instructions": "También en nuestras oficinas.",
                        "min_reminder_amounts": "none", "min_formal_amounts": "none", **settings})
    inv = [{"customer_id": "C1", "issue_date": DUE - dt.timedelta(days=30), "due_date": DUE, "currency": "EUR",
            "status": "open", "invoice_id": "F-1", "amount": 150000, "reminder_level": "due"},
           {"customer_id": "C1", "issue_date": DUE + dt.timedelta(days=2), "due_date": DUE + dt.timedelta(days=40),
            "currency": "EUR", "status": "open", "invoice_id": "F-2", "amount": 20000},
           {"customer_id": "C1", "issue_date": DUE - dt.timedelta(days=3), "due_date": DUE - dt.timedelta(days=3),
            "currency": "EUR", "status": "open", "invoice_id": "R-1", "amount": -30000}]
    return replace(empty_ledger(s),
                   customers=make_frame(CUSTOMERS, [{"customer_id": "C1", "name": "Uno", "email": ("a@b.example",),
                                                     "currency": "EUR", "status": "active", "language": "es"}]),
                   invoices=make_frame(INVOICES, inv), levels=default_levels("es"), templates=default_templates())


def test_reminder_shows_amount_reference_account_and_the_credit_in_favour() -> None:
    plan = plan_reminders(ledger(**PAY), DUE + dt.timedelta(days=7))
    (item,) = [i for i in plan.items if i.channel == "email"]
    text = item.text
    # what F-1 owes less the open credit note R-1: 1,500.00 - 300.00
    assert "Importe a pagar: 1.200,00 EUR" in text
    assert "Concepto / referencia: Fra. F-1" in text
    assert "IBAN: ES91 2100 0418 4502 0005 1332" in text and "Bizum: 600 111 222" in text
    assert "https://pagos.example.com/?f=F-1&i=1200.00" in text
    assert "También en nuestras oficinas." in text
    assert "300,00 EUR" in text and "-300,00" not in text  # a credit in the customer's favour, not negative
    assert "a su favor" in text


def test_without_payment_details_the_free_text_is_kept() -> None:
    plan = plan_reminders(ledger(), DUE + dt.timedelta(days=7))
    (item,) = [i for i in plan.items if i.channel == "email"]
    assert "También en nuestras oficinas." in item.text and "IBAN" not in item.text


def _letter_ledger():
    led = ledger(**PAY)
    inv = led.invoices.copy()
    inv.loc[inv["invoice_id"] == "F-1", "reminder_level"] = "call"
    return led.replace(invoices=inv)


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (Debian zbar-tools) is not installed")
def test_email_carries_the_qr_inline_and_it_decodes_to_the_payload(tmp_path: Path) -> None:
    pytest.importorskip("segno")
    from sync.cycle import message_for
    from sync.mailer import message_bytes

    plan = plan_reminders(ledger(**PAY), DUE + dt.timedelta(days=7))
    (item,) = [i for i in plan.items if i.channel == "email"]
    assert item.epc_payload.split("\n")[7] == "EUR1200.00" and item.epc_payload.endswith("Fra. F-1")
    raw = message_bytes(message_for(item, dt.datetime(2026, 3, 9, 9, 0)))
    (tmp_path / "reminder.eml").write_bytes(raw)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    html, image = list(related.iter_parts())
    assert 'src="cid:epc-qr@cobro"' in html.get_content()
    assert image.get_content_type() == "image/png" and image["Content-ID"] == "<epc-qr@cobro>"
    png = tmp_path / "qr.png"
    png.write_bytes(image.get_content())
    out = subprocess.run(["zbarimg", "-q", "--raw", "-Sbinary", str(png)], capture_output=True, check=True).stdout
    assert out.decode("utf-8").rstrip("\n") == item.epc_payload


@pytest.mark.skipif(shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None,
                    reason="zbarimg (zbar-tools) and pdftoppm (poppler-utils) are needed")
def test_letter_prints_the_way_to_pay_and_the_qr(tmp_path: Path) -> None:
    pytest.importorskip("segno")
    plan = plan_reminders(_letter_ledger(), DUE + dt.timedelta(days=31))
    (item,) = [i for i in plan.items if i.channel == "letter"]
    assert item.letter_pdf and item.epc_payload
    (tmp_path / "letter.pdf").write_bytes(item.letter_pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(tmp_path / "letter.pdf"), str(tmp_path / "p")], check=True)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "letter.pdf"), "-"], capture_output=True,
                          check=True).stdout.decode("utf-8")
    assert "ES91 2100 0418 4502 0005 1332" in text and "1.200,00 EUR" in text
    found = set()
    for page in sorted(tmp_path.glob("p-*.png")):
        r = subprocess.run(["zbarimg", "-q", "--raw", "-Sbinary", str(page)], capture_output=True)
        if r.returncode == 0:
            found.add(r.stdout.decode("utf-8").rstrip("\n"))
    assert found == {item.epc_payload}


def test_a_level_can_attach_the_statement() -> None:
    pytest.importorskip("segno")
    led = ledger(**PAY)
    levels = led.levels.copy()
    levels["attach_statement"] = levels["level"] == "r1"
    plan = plan_reminders(led.replace(levels=levels), DUE + dt.timedelta(days=7))
    (item,) = [i for i in plan.items if i.channel == "email"]
    assert item.level == "r1" and item.statement_pdf and item.statement_pdf.startswith(b"%PDF")
    from sync.cycle import message_for

    msg = message_for(item, dt.datetime(2026, 3, 9, 9, 0))
    assert [a[0] for a in msg.attachments] == ["extracto-C1-2026-03-09.pdf"]


def test_a_payment_on_account_is_a_credit_in_the_message_and_netted() -> None:
    from cobro.schema import PAYMENTS

    led = ledger(**PAY)
    led = led.replace(payments=make_frame(PAYMENTS, [
        {"payment_id": "P-7", "date": DUE - dt.timedelta(days=1), "customer_id": "C1", "invoice_id": "",
         "amount": 10000, "currency": "EUR", "reference": "Transferencia a cuenta", "source": "manual"}]))
    plan = plan_reminders(led, DUE + dt.timedelta(days=7))
    (item,) = [i for i in plan.items if i.channel == "email"]
    # 1,500.00 owed on F-1, less the credit note R-1 (300.00) and the payment on account P-7 (100.00)
    assert "Importe a pagar: 1.100,00 EUR" in item.text
    assert "P-7" in item.text and "100,00 EUR" in item.text and "-100,00" not in item.text
    assert "Saldo total de su cuenta: 1.300,00 EUR." in item.text  # 1,500 + 200 (F-2) - 300 - 100
    assert item.statement_invoice_ids == ("R-1", "F-2")  # the payment is not an invoice


def test_inline_images_are_checked_like_attachments() -> None:
    from sync.mailer import InvalidMessageError, OutgoingMessage, message_id_for

    base = {"key": "k", "message_id": message_id_for("k", "demo.example"), "sender": "a@demo.example",
            "to": ("b@demo.example",), "subject": "s", "text": "t", "html": '<p><img src="cid:qr@cobro"></p>'}
    OutgoingMessage(**base, inline=(("qr@cobro", b"\x89PNG", "image/png"),)).validate()
    for bad in (("qr\r\nBcc: x@y.z", b"x", "image/png"), ("qr@cobro", b"x", "text/html"),
                ("qr@cobro", "x", "image/png")):
        with pytest.raises(InvalidMessageError):
            OutgoingMessage(**base, inline=(bad,)).validate()
    with pytest.raises(InvalidMessageError):
        OutgoingMessage(**{**base, "html": ""}, inline=(("qr@cobro", b"x", "image/png"),)).validate()
