"""Rendering reminders: the sandbox, broken templates located by key/language/line, HTML and text parts, exact
interest and discount arithmetic, letters, and the default texts in both languages."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from cobro.ledger import Settings, empty_ledger, make_frame
from cobro.letters import render_letter
from cobro.render import (
    TEMPLATE_VARIABLES,
    InvoiceLine,
    TemplateProblem,
    TemplateRenderError,
    TemplateSet,
    check_templates,
    discount_info,
    format_date,
    format_pct,
    html_to_blocks,
    html_to_text,
    interest_by_currency,
    one_line,
    sample_context,
    template_context,
)
from cobro.schema import LEVELS, TEMPLATES

D = dt.date
SETTINGS = Settings(company_name="Acme, S.L.", sender_name="Cobros", sender_email="cobros@acme.es")


def tpl_frame(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    return make_frame(TEMPLATES, [{"template": k, "language": lang, "subject": s, "body": b, "_row": i + 2}
                                  for i, (k, lang, s, b) in enumerate(rows)])


def ledger_with(*rows: tuple[str, str, str, str], levels: list[dict[str, Any]] | None = None,
                settings: Settings = SETTINGS) -> Any:
    lv = make_frame(LEVELS, levels or [{"level": "r1", "days": 7, "channel": "email", "template": "r1", "_row": 2}])
    return empty_ledger(settings).replace(templates=tpl_frame(*rows), levels=lv)


def ctx(language: str = "es", **changes: Any) -> dict[str, Any]:
    c = sample_context(SETTINGS, language)
    c.update(changes)
    return c


# ----------------------------------------------------------------------------------- the sandbox

TRICKS = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ customer.__class__.__init__.__globals__ }}",
    "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
    "{{ invoices.append(1) }}",
    "{{ customer.update({'name': 'x'}) }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ (invoices|first).__class__ }}",
    "{% if ''.__class__ %}x{% endif %}",
]


@pytest.mark.parametrize("trick", TRICKS)
def test_sandbox_refuses_python_internals(trick: str) -> None:
    led = ledger_with(("r1", "es", "ok", "<p>Hola</p>\n<p>" + trick + "</p>"))
    problems = check_templates(led)
    assert len(problems) == 1, problems
    p = problems[0]
    assert isinstance(p, TemplateProblem)
    assert (p.template, p.language, p.part, p.line, p.row) == ("r1", "es", "body", 2, 2)
    assert p.kind in ("unsafe", "error")
    msg = p.message("en")
    assert msg.startswith('Templates, row 2, template "r1" (es), body, line 2:'), msg
    # and rendering directly refuses too
    ts = TemplateSet(led.templates, "es")
    with pytest.raises(TemplateRenderError):
        ts.render("r1", "es", ctx())


def test_sandbox_trick_in_the_subject_is_refused() -> None:
    led = ledger_with(("r1", "es", "Hola {{ ''.__class__.__mro__ }}", "<p>x</p>"))
    (p,) = check_templates(led)
    assert (p.part, p.kind, p.line) == ("subject", "unsafe", 1)  # type: ignore[union-attr]


# ----------------------------------------------------------------------------------- broken templates


def test_syntax_error_is_reported_with_key_language_and_line() -> None:
    body = "<p>Hola {{ customer.name }}</p>\n<p>linea 2</p>\n{% for i in invoices %}\n<p>{{ i.invoice_id }}</p>\n"
    led = ledger_with(("r1", "es", "ok", "<p>bien</p>"), ("r1", "en", "ok", body))
    (p,) = check_templates(led)
    assert isinstance(p, TemplateProblem)
    assert (p.template, p.language, p.kind, p.part, p.row) == ("r1", "en", "syntax", "body", 3)
    assert p.line is not None and p.line >= 3
    assert "plantilla \"r1\" (en), cuerpo" in p.message("es") and "error de sintaxis" in p.message("es")
    d = p.as_dict()
    assert d["template"] == "r1" and d["language"] == "en" and d["line"] == p.line and d["code"] == "syntax"


def test_unknown_variable_is_reported_with_its_line() -> None:
    led = ledger_with(("r1", "es", "ok", "<p>Hola</p>\n<p>{{ customr.name }}</p>"))
    (p,) = check_templates(led)
    assert (p.kind, p.detail, p.line, p.part) == ("unknown_variable", "customr", 2, "body")  # type: ignore[union-attr]
    assert "customer, company" in p.message("en")


def test_unknown_field_is_reported_with_its_line() -> None:
    led = ledger_with(("r1", "es", "ok", "<p>Hola</p>\n\n<p>{{ customer.nmae }}</p>"))
    (p,) = check_templates(led)
    assert (p.kind, p.line) == ("undefined", 3)  # type: ignore[union-attr]
    assert "nmae" in p.message("en")


def test_error_in_a_branch_only_taken_without_discount_is_found() -> None:
    body = "<p>x</p>\n{% if not discount %}<p>{{ discount.pct }}</p>{% endif %}"
    (p,) = check_templates(ledger_with(("r1", "es", "ok", body)))
    assert p.line == 2  # type: ignore[union-attr]


def test_runtime_error_is_located() -> None:
    (p,) = check_templates(ledger_with(("r1", "es", "ok", "<p>a</p>\n<p>{{ 1 // 0 }}</p>")))
    assert (p.kind, p.line) == ("error", 2) and "ZeroDivisionError" in p.detail  # type: ignore[union-attr]


def test_missing_template_duplicate_rows_and_empty_subject() -> None:
    levels = [{"level": "r1", "days": 7, "channel": "email", "template": "r1", "_row": 2},
              {"level": "w", "days": 9, "channel": "whatsapp", "template": "nope", "_row": 3},
              {"level": "c", "days": 10, "channel": "phone", "template": "nada", "_row": 4}]
    led = ledger_with(("r1", "es", "", "<p>x</p>"), ("R1", "es", "dup", "<p>y</p>"), levels=levels)
    problems = check_templates(led)
    kinds = sorted((getattr(p, "kind", None) or p.code, p.sheet, p.row) for p in problems)  # type: ignore[union-attr]
    assert kinds == [("empty_subject", "Templates", 2), ("missing", "Levels", 3), ("unique", "Templates", 3)]
    missing = next(p for p in problems if getattr(p, "kind", "") == "missing")
    assert missing.message("en") == ('Levels, row 3, column "Template": '
                                     'no template "nope" in the Templates sheet (level w)')
    assert missing.message("es").startswith('Niveles, fila 3, columna "Plantilla": no existe la plantilla "nope"')


def test_template_variables_are_exactly_the_documented_list() -> None:
    assert TEMPLATE_VARIABLES == ("customer", "company", "as_of", "level", "invoices", "other_invoices", "totals",
                                  "statement_totals", "payment_instructions", "discount", "interest",
                                  "max_days_overdue")
    assert set(sample_context(SETTINGS, "es")) == set(TEMPLATE_VARIABLES)
    inv = sample_context(SETTINGS, "en")["invoices"][0]
    assert set(inv) == {"invoice_id", "reference", "description", "issue_date", "due_date", "days_overdue",
                        "amount", "balance", "currency"}
    import cobro.render

    for name in TEMPLATE_VARIABLES:
        assert f"``{name}" in (cobro.render.__doc__ or "")


# ----------------------------------------------------------------------------------- html and text


def test_html_is_escaped_text_is_derived_and_subject_is_one_line() -> None:
    ts = TemplateSet(tpl_frame(("r1", "es", "Aviso\n para  {{ customer.name }}",
                                "<p>Hola {{ customer.name }},</p><ul>{% for i in invoices %}<li>{{ i.invoice_id }}"
                                "</li>{% endfor %}</ul><p>{{ payment_instructions }}</p>")), "es")
    c = ctx(customer={"name": "A<b>&</b>\r\nBcc: x@y.z", "customer_id": "C", "tax_id": ""})
    r = ts.render("r1", "es", c)
    assert r.subject == "Aviso para A<b>&</b> Bcc: x@y.z"
    assert "A&lt;b&gt;&amp;&lt;/b&gt;" in r.html and "<title>Aviso para A&lt;b&gt;" in r.html
    assert r.text.startswith("Hola A<b>&</b> Bcc: x@y.z,\n\n- F-2026-0101\n- F-2026-0042\n\nIBAN ES00")
    assert "IBAN ES00 0000 0000 0000 0000 0000<br>\nRef.: invoice number" in r.html
    assert "IBAN ES00 0000 0000 0000 0000 0000\nRef.: invoice number" in r.text


def test_plain_text_body_becomes_paragraphs() -> None:
    ts = TemplateSet(tpl_frame(("r1", "es", "s", "Hola {{ customer.name }}:\n\nDebe {{ totals[0].balance }}.\n"
                                                 "Gracias.\n\n\nAtentamente,\nAcme")), "es")
    r = ts.render("r1", "es", ctx(customer={"name": "Pérez & <Hijos>", "customer_id": "C", "tax_id": ""}))
    assert "<p>Hola Pérez &amp; &lt;Hijos&gt;:</p>" in r.body_html
    assert "<p>Debe 2.510,50 EUR.<br>\nGracias.</p>" in r.body_html
    assert r.text == "Hola Pérez & <Hijos>:\n\nDebe 2.510,50 EUR.\nGracias.\n\nAtentamente,\nAcme\n"


def test_html_to_text_keeps_structure() -> None:
    html = ("<h2>Title</h2><p>One  two\nthree<br>four &amp; five</p><ol><li>a</li><li>b<br>c</li></ol>"
            "<ul><li>x</li></ul><script>alert(1)</script><style>p{}</style>"
            "<table><tr><th>Inv</th><th>Amount</th></tr><tr><td>F1</td><td>1,00 EUR</td></tr>"
            "<tr><td colspan=\"1\">Total</td><td>1,00 EUR</td></tr></table>"
            "<p>Pay at <a href=\"https://pay.example.com/x\">our portal</a> or "
            "<a href=\"mailto:a@b.com\">a@b.com</a>.</p><hr><div>end</div>")
    text = html_to_text(html)
    assert text == ("Title\n\nOne two three\nfour & five\n\n1. a\n2. b\n   c\n\n- x\n\n"
                    "Inv   | Amount\nF1    | 1,00 EUR\nTotal | 1,00 EUR\n\n"
                    "Pay at our portal (https://pay.example.com/x) or a@b.com.\n\n--------------------\n\nend\n")
    kinds = [b.kind for b in html_to_blocks(html)]
    assert kinds == ["h", "p", "li", "li", "li", "table", "p", "hr", "p"]


def test_colspan_keeps_the_total_under_its_column() -> None:
    text = html_to_text("<table><tr><td>a</td><td>b</td><td>c</td></tr>"
                        "<tr><td colspan=\"2\">Total</td><td>9</td></tr></table>")
    assert text.splitlines()[1].split(" | ")[-1].strip() == "9"


def test_dates_and_numbers_in_the_message_language() -> None:
    assert format_date(D(2026, 11, 20), "es") == "20/11/2026"
    assert format_date(D(2026, 11, 20), "en") == "20 Nov 2026"
    assert format_date(None, "es") == ""
    assert format_pct(Decimal("2.50"), "es") == "2,5" and format_pct(Decimal("2"), "en") == "2"
    assert format_pct(Decimal("10"), "en") == "10"
    assert one_line(" a\r\n b\u2028c\t d ") == "a b c d"
    line = InvoiceLine("F1", "EUR", 123456, 123456, D(2026, 1, 2), D(2026, 2, 1), 5)
    assert line.as_template("es")["balance"] == "1.234,56 EUR"
    assert line.as_template("en")["balance"] == "1,234.56 EUR"
    assert line.as_template("en")["due_date"] == "1 Feb 2026"
    c = template_context(customer={"name": "X", "customer_id": "C1"}, settings=SETTINGS, as_of=D(2026, 2, 6),
                         level="r1", invoices=[line], other_invoices=[], language="es")
    assert c["as_of"] == "06/02/2026" and c["totals"] == [{"currency": "EUR", "balance": "1.234,56 EUR"}]
    assert c["customer"]["tax_id"] == "" and c["max_days_overdue"] == 5 and c["discount"] is None


# ----------------------------------------------------------------------------------- arithmetic


def _line(balance: int, days: int, currency: str = "EUR", issue: dt.date | None = None) -> InvoiceLine:
    return InvoiceLine("F", currency, balance, balance, issue, None, days)


def test_interest_is_exact_to_the_cent_half_up_per_invoice() -> None:
    # 1.000,00 at 8.5 % for 45 days = 10.479452… -> 10,48
    assert interest_by_currency([_line(100000, 45)], Decimal("8.5")) == {"EUR": 1048}
    # 182,50 at 1 % for 1 day = 0.005 exactly -> half-up 0,01 (banker's rounding would give 0,00)
    assert interest_by_currency([_line(18250, 1)], Decimal("1")) == {"EUR": 1}
    # rounded per invoice, then summed: 0.005 + 0.005 -> 0,02 (not round(0.01) of the sum)
    assert interest_by_currency([_line(18250, 1), _line(18250, 1)], Decimal("1")) == {"EUR": 2}
    # just under the half cent -> down
    assert interest_by_currency([_line(18249, 1)], Decimal("1")) == {}  # a zero amount is left out
    # per currency, never added; JPY has no minor unit: 100000 JPY × 10 % × 30/365 = 821.9 -> 822
    got = interest_by_currency([_line(100000, 45), _line(100000, 30, "JPY"), _line(5000, 365, "USD")],
                               Decimal("10"), "EUR")
    assert got == {"EUR": 1233, "JPY": 822, "USD": 500}
    assert list(got) == ["EUR", "JPY", "USD"]
    # not overdue, zero rate or credit: nothing
    assert interest_by_currency([_line(100000, 0), _line(100000, -5), _line(-100, 30)], Decimal("8")) == {}
    assert interest_by_currency([_line(100000, 45)], Decimal("0")) == {}
    # a big balance stays exact: 12.345.678,91 at 7.25 % for 1000 days
    exact = Decimal("1234567891") * Decimal("7.25") * 1000 / Decimal(36500)
    assert interest_by_currency([_line(1234567891, 1000)], Decimal("7.25")) == {"EUR": int(exact + Decimal("0.5"))}


def test_interest_in_the_template_context() -> None:
    st = replace(SETTINGS, late_interest_annual_pct=Decimal("8.5"))
    c = template_context(customer={"name": "X"}, settings=st, as_of=D(2026, 3, 1), level="r1",
                         invoices=[_line(100000, 45), _line(5000, 10, "USD")], other_invoices=[_line(999999, 99)],
                         language="es")
    assert c["interest"] == [{"currency": "EUR", "amount": "10,48 EUR"}, {"currency": "USD", "amount": "0,12 USD"}]
    assert c["statement_totals"][0]["balance"] == "10.999,99 EUR"


def test_early_payment_discount_exact_and_until_the_last_day() -> None:
    issue = D(2026, 3, 1)
    terms = (Decimal("2"), 10)
    # 2 % of 1.234,56 = 24.6912 -> 24,69; the last day to pay with the discount is issue + 10
    assert discount_info([_line(123456, -20, issue=issue)], D(2026, 3, 11), terms) == (
        Decimal("2"), D(2026, 3, 11), {"EUR": 2469})
    assert discount_info([_line(123456, -19, issue=issue)], D(2026, 3, 12), terms) is None
    # half-up: 2 % of 0,25 = 0.005 -> 0,01
    assert discount_info([_line(25, -20, issue=issue)], D(2026, 3, 1), terms)[2] == {"EUR": 1}  # type: ignore[index]
    # several invoices: until is the earliest deadline; per currency
    lines = [_line(10000, -20, issue=issue), _line(20000, -25, issue=D(2026, 3, 5)),
             _line(30000, -25, "USD", issue=D(2026, 3, 5)), _line(50000, 10, issue=D(2026, 1, 1))]
    assert discount_info(lines, D(2026, 3, 6), (Decimal("2.5"), 10)) == (
        Decimal("2.5"), D(2026, 3, 11), {"EUR": 750, "USD": 750})
    assert discount_info(lines, D(2026, 3, 6), None) is None
    st = replace(SETTINGS, early_payment_discount=(Decimal("2.5"), 10))
    c = template_context(customer={"name": "X"}, settings=st, as_of=D(2026, 3, 6), level="pre", invoices=lines,
                         other_invoices=[], language="es")
    assert c["discount"] == {"pct": "2,5", "until": "11/03/2026", "amount": "7,50 EUR + 7,50 USD"}


# ----------------------------------------------------------------------------------- letters


def test_letter_pdf_is_deterministic_and_holds_the_text() -> None:
    ts = TemplateSet(tpl_frame(("letter", "es", "Requerimiento — {{ customer.name }}",
                                "<p>{{ company.name }}</p><p><b>Asunto</b></p><ul><li>uno</li></ul>"
                                "<table><tr><th>Factura</th><th>Pendiente</th></tr>{% for i in invoices %}"
                                "<tr><td>{{ i.invoice_id }}</td><td>{{ i.balance }}</td></tr>{% endfor %}</table>"
                                "<p>Atentamente, ñandú €</p>")), "es")
    r = ts.render("letter", "es", ctx())
    pdf = render_letter(r.blocks, title=r.subject, author="Acme")
    assert pdf.startswith(b"%PDF") and pdf == render_letter(r.blocks, title=r.subject, author="Acme")
    assert render_letter([]).startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    for needle in ("Acme, S.L.", "F-2026-0042", "1.300,50 EUR", "Atentamente, ñandú €"):
        assert needle in out, needle


# ----------------------------------------------------------------------------------- the default texts


def test_every_default_template_renders_in_es_and_en() -> None:
    defaults = pytest.importorskip("cobro.defaults", reason="cobro/defaults.py (default texts) not present")
    levels = defaults.default_levels()
    templates = defaults.default_templates()
    for locale in ("es", "en"):
        st = Settings(**{**SETTINGS.__dict__, "locale": locale})
        led = empty_ledger(st).replace(levels=levels, templates=templates)
        assert check_templates(led) == []
        ts = TemplateSet(templates, locale)
        for key in levels["template"]:
            assert set(ts.languages(key)) == {"es", "en"}, key
            for full in (True, False):
                r = ts.render(key, locale, sample_context(st, locale, full))
                assert r.language == locale and r.subject and "\n" not in r.subject
                assert r.text.strip() and "{{" not in r.text and "{%" not in r.text
                assert "Cliente Ejemplo" in r.text or "ACME" in r.text or key == "letter"


def test_default_templates_in_a_real_plan() -> None:
    defaults = pytest.importorskip("cobro.defaults", reason="cobro/defaults.py (default texts) not present")
    from cobro.reminders import plan_reminders
    from cobro.schema import CUSTOMERS, INVOICES

    st = Settings(company_name="Acme", sender_name="Ana", sender_email="a@acme.es", business_days_only=False,
                  late_interest_annual_pct=Decimal("8"), payment_instructions="IBAN ES12")
    customers = make_frame(CUSTOMERS, [{"customer_id": f"C{lang}", "name": f"Cliente {lang}",
                                        "email": "x@example.com", "phone": "+34600000000", "language": lang}
                                       for lang in ("es", "en")])
    # each invoice one step further up the default ladder (reminder_level column), all due their next level today
    steps = (("", "2026-03-13"), ("pre", "2026-03-10"), ("due", "2026-03-03"), ("r1", "2026-02-23"),
             ("call", "2026-02-08"), ("letter", "2026-01-09"))
    invoices = make_frame(INVOICES, [{"invoice_id": f"F{lang}{k}", "customer_id": f"C{lang}",
                                      "issue_date": "2025-10-01", "due_date": due, "amount": 100000,
                                      "currency": "EUR", "reminder_level": level}
                                     for lang in ("es", "en") for k, (level, due) in enumerate(steps)])
    led = empty_ledger(st).replace(customers=customers, invoices=invoices, levels=defaults.default_levels(),
                                   templates=defaults.default_templates())
    plan = plan_reminders(led, D(2026, 3, 10))
    assert plan.ok, [e.message() for e in plan.errors]
    assert sorted((i.customer_id, i.channel, i.level, len(i.invoice_ids)) for i in plan.items) == [
        ("Cen", "email", "final", 4), ("Cen", "letter", "letter", 1), ("Cen", "phone", "call", 1),
        ("Ces", "email", "final", 4), ("Ces", "letter", "letter", 1), ("Ces", "phone", "call", 1)]
    for item in plan.items:
        assert item.rendered and item.subject and item.text and item.language == item.customer_id[1:]
    letter = next(i for i in plan.items if i.channel == "letter")
    assert letter.letter_pdf is not None and letter.letter_pdf.startswith(b"%PDF")
    call = next(i for i in plan.items if i.channel == "phone")
    assert call.call_notes == call.text


def test_html_walker_is_forgiving() -> None:
    html = ('<!-- note --><P CLASS="x" title="a>b">a &lt; b &amp;&nbsp;c < d</P><BR/><img alt="logo" src=x />'
            "<p>x<br/>y</p><script>if (a<b) {}</script><p>unclosed <b>bold")
    assert html_to_text(html) == "a < b & c < d\n\nlogo\n\nx\ny\n\nunclosed bold\n"


def test_bold_spans_are_kept_for_letters_but_not_in_text() -> None:
    blocks = html_to_blocks("<p>Pay <b>now</b> or <strong>soon</strong></p><p><b>a</p><p>b</b></p>")
    assert [(b.text, b.rich) for b in blocks] == [
        ("Pay now or soon", "Pay \x01now\x02 or \x01soon\x02"), ("a", ""), ("b", "")]
    pdf = render_letter(blocks)
    assert pdf.startswith(b"%PDF")
