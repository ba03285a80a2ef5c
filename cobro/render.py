"""Reminder texts: the Templates sheet rendered in a Jinja sandbox, as an HTML part and a plain-text part.

Writing templates (user documentation)
======================================

A template is a row of the Templates sheet (``Plantillas``): a key, a language (``es`` or ``en``), a subject and a
body. A level of the Levels sheet uses the template named in its ``template`` column (or, when that is blank, the
template with the level's own key). The customer's language chooses the row; when the template has no row in that
language cobro uses ``Settings.locale``, and then any language the template has.

Subject and body use Jinja placeholders: ``{{ customer.name }}``, ``{% for inv in invoices %}…{% endfor %}``,
``{% if discount %}…{% endif %}``. The body may be HTML (``<p>``, ``<b>``, ``<table>``, ``<ul>``…); a body without
any HTML tag is plain text, whose blank lines separate paragraphs. Every message has an HTML part and a plain-text
part derived from it (tags stripped; line breaks, list items and table rows kept). Values are escaped in the HTML
part, so a customer called ``<b>ACME</b>`` shows exactly that. The subject is one line: line breaks and runs of
spaces in it become a single space.

The variables — templates can use these and nothing else:

=========================== ===================================================================================
``customer.name``           the customer's name
``customer.customer_id``    the customer's ID in Customers
``customer.tax_id``         the customer's tax ID (may be blank)
``company.name``            Settings company_name
``company.sender_name``     Settings sender_name
``company.sender_email``    Settings sender_email
``company.reply_to``        Settings reply_to (may be blank)
``as_of``                   the date of the run, as text in the message's language: ``20/11/2026`` (es),
                            ``20 Nov 2026`` (en)
``level``                   the key of the reminder level (``r1``, ``call``…)
``invoices``                the invoices this reminder is about, oldest due date first; each has
                            ``invoice_id``, ``reference``, ``description``, ``issue_date`` and ``due_date``
                            (date text), ``days_overdue`` (a whole number; negative before the due date),
                            ``amount`` and ``balance`` (money text: ``1.234,56 EUR`` es, ``1,234.56 EUR`` en) and
                            ``currency``
``other_invoices``          the customer's other open invoices (a statement of account), same fields; credit
                            notes appear with a negative balance; disputed invoices are left out
``totals``                  what ``invoices`` add up to, one entry per currency: ``currency``, ``balance``
``statement_totals``        what ``invoices`` and ``other_invoices`` add up to, per currency (same fields)
``payment_instructions``    how to pay (its line breaks are kept in the HTML part): with an IBAN, Bizum or payment
                            link in Settings, one line each for the amount to pay (the invoices less open credit
                            notes), the reference to quote, beneficiary, IBAN, BIC, Bizum, the payment link and
                            the Settings free text; otherwise Settings payment_instructions as written
``discount``                the early-payment discount still available on ``invoices``, or nothing: ``pct``
                            (``2`` or ``2,5``), ``until`` (date text: the earliest last day to pay with the
                            discount) and ``amount`` (money text, per currency joined with `` + ``). Settings
                            early_payment_discount ``2/10`` means 2 % if paid within 10 days of the issue date; the
                            discount is pct × the invoice's balance, rounded half-up to the cent per invoice.
``interest``                late-payment interest accrued on the overdue ``invoices``, one entry per currency:
                            ``currency``, ``amount`` (money text); empty when none. Per invoice: balance × Settings
                            late_interest_annual_pct ÷ 100 ÷ 365 × days overdue, rounded half-up to the cent. With
                            Settings late_interest_enabled = yes: Ley 3/2004 instead (each half year's ECB rate +
                            8 points, ``cobro.interest``) plus 40 EUR per euro invoice, both named in ``amount``
``max_days_overdue``        the largest ``days_overdue`` among ``invoices`` (a whole number)
=========================== ===================================================================================

Templates run in Jinja's sandbox: they cannot reach Python internals (``{{ ''.__class__ }}`` is refused), cannot
change the data, and an unknown variable or field is an error, never a silent blank. ``check_templates`` reports
every broken template — its key, language, part (subject or body) and line — before anything is sent, and a
plan with such errors sends nothing.

Rendering is bounded in work and size, per message and per run (``RenderLimits``): the sandbox's hooks count the
steps a template takes (loops, calls, operators, filters, output) and refuse a value before it is made when it
would be too big (``range(10**9)``, ``'a'*10**9``, ``7**(9**9)``, ``lipsum(10**7)``, a width of a million). A
template past a bound is a problem of kind ``limit`` (key, language, part), reported like a syntax error.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import re
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from html import escape as html_escape
from html import unescape as html_unescape
from typing import Any

import jinja2
import jinja2.compiler
import jinja2.runtime
import jinja2.utils
import pandas as pd
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from cobro.errors import InputError

from . import money
from .interest import interest_enabled, late_interest, rates_for
from .ledger import Ledger, Problem, Settings
from .payment import PaymentRequest, payment_details, payment_request
from .schema import LEVELS, TEMPLATES

__all__ = [
    "TEMPLATE_VARIABLES",
    "Block",
    "InvoiceLine",
    "Rendered",
    "TemplateProblem",
    "TemplateSet",
    "blocks_to_text",
    "check_templates",
    "discount_info",
    "format_date",
    "format_pct",
    "html_to_blocks",
    "html_to_text",
    "interest_by_currency",
    "legal_interest_list",
    "one_line",
    "payment_for",
    "sample_context",
    "template_context",
]

TEMPLATE_VARIABLES: tuple[str, ...] = (
    "customer", "company", "as_of", "level", "invoices", "other_invoices", "totals", "statement_totals",
    "payment_instructions", "discount", "interest", "max_days_overdue",
)

# Channels whose level cannot work without a template (a call task falls back on generated notes).
CHANNELS_NEEDING_TEMPLATE = ("email", "letter", "whatsapp")

# ----------------------------------------------------------------------------------- formatting

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(day: dt.date | pd.Timestamp | None, language: str) -> str:
    """A date as people read it: ``20/11/2026`` (es), ``20 Nov 2026`` (en); ``""`` when missing."""
    if day is None or (isinstance(day, float) and day != day) or day is pd.NaT:
        return ""
    if isinstance(day, pd.Timestamp):
        day = day.date()
    if language == "es":
        return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year:04d}"


def format_pct(pct: Decimal, language: str) -> str:
    """A percentage number without trailing zeros: ``2``, ``2.5`` (en) / ``2,5`` (es)."""
    text = format(pct.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if language == "es" else text


def one_line(text: str) -> str:
    """Collapse every run of whitespace (line breaks included) into one space: safe for a header."""
    return " ".join(str(text).split())


def _half_up(x: Fraction) -> int:
    """Round a non-negative or negative exact fraction half away from zero to an integer."""
    sign = -1 if x < 0 else 1
    a = abs(x)
    return sign * int((a + Fraction(1, 2)) // 1)


# ----------------------------------------------------------------------------------- context


@dataclass(frozen=True)
class InvoiceLine:
    """One invoice as a template sees it (amounts in minor units of ``currency``)."""

    invoice_id: str
    currency: str
    amount: int
    balance: int
    issue_date: dt.date | None
    due_date: dt.date | None
    days_overdue: int
    reference: str = ""
    description: str = ""

    def as_template(self, language: str) -> dict[str, Any]:
        return {
            "invoice_id": self.invoice_id, "reference": self.reference, "description": self.description,
            "issue_date": format_date(self.issue_date, language), "due_date": format_date(self.due_date, language),
            "days_overdue": int(self.days_overdue),
            "amount": money.format_money(self.amount, self.currency, language),
            "balance": money.format_money(self.balance, self.currency, language),
            "currency": self.currency,
        }


def _currency_order(currencies: Iterable[str], base: str) -> list[str]:
    return sorted(set(currencies), key=lambda c: (c != base, c))


def _totals(lines: Sequence[InvoiceLine], base: str) -> dict[str, int]:
    sums = money.sum_by_currency([(ln.currency, ln.balance) for ln in lines])
    return {c: sums[c] for c in _currency_order(sums, base)}


def interest_by_currency(lines: Sequence[InvoiceLine], annual_pct: Decimal, base: str = "EUR") -> dict[str, int]:
    """Late interest accrued, per currency, in minor units.

    Per invoice overdue with a positive balance: balance × annual_pct ÷ 100 ÷ 365 × days overdue, computed exactly
    and rounded half-up to the currency's minor unit; then summed per currency. Empty when the rate is zero.
    """
    if not annual_pct or annual_pct <= 0:
        return {}
    rate = Fraction(annual_pct)
    pairs = []
    for ln in lines:
        if ln.balance > 0 and ln.days_overdue > 0:
            pairs.append((ln.currency, _half_up(Fraction(ln.balance) * rate * ln.days_overdue / 36500)))
    sums = money.sum_by_currency(pairs)
    return {c: sums[c] for c in _currency_order(sums, base) if sums[c]}


def discount_info(lines: Sequence[InvoiceLine], as_of: dt.date, terms: tuple[Decimal, int] | None,
                  base: str = "EUR") -> tuple[Decimal, dt.date, dict[str, int]] | None:
    """The early-payment discount still available on ``lines`` as of ``as_of``, or ``None``.

    ``terms`` is ``(pct, days)``: pct % off when paid within ``days`` days of the issue date (the last day
    included). Returns ``(pct, until, amounts)``: ``until`` is the earliest deadline among the eligible invoices
    (every one of them is still eligible that day) and ``amounts`` the discount per currency (pct × balance,
    half-up to the minor unit per invoice).
    """
    if not terms or terms[0] <= 0:
        return None
    pct, days = terms
    eligible = [(ln, ln.issue_date + dt.timedelta(days=days)) for ln in lines
                if ln.balance > 0 and ln.issue_date is not None and as_of <= ln.issue_date + dt.timedelta(days=days)]
    if not eligible:
        return None
    until = min(d for _, d in eligible)
    pairs = [(ln.currency, _half_up(Fraction(ln.balance) * Fraction(pct) / 100)) for ln, _ in eligible]
    sums = money.sum_by_currency(pairs)
    return pct, until, {c: sums[c] for c in _currency_order(sums, base)}


def legal_interest_list(lines: Sequence[InvoiceLine], as_of: dt.date, settings: Settings, language: str
                        ) -> list[dict[str, str]]:
    """Settings ``late_interest_enabled``: the ``interest`` variable per currency from Ley 3/2004
    (``cobro.interest``: each half year's legal rate, or Settings late_interest_annual_pct when above 0, from the
    day after the due date), with the 40 EUR compensation per euro invoice (art. 8) named in ``amount``."""
    rates = rates_for(settings.extra)
    agreed = settings.late_interest_annual_pct if settings.late_interest_annual_pct > 0 else None
    interest: dict[str, int] = {}
    comp: dict[str, int] = {}
    for ln in lines:
        if ln.balance > 0 and ln.days_overdue > 0 and ln.due_date is not None:
            r = late_interest(ln.balance, ln.currency, ln.due_date, as_of, rates=rates, agreed_pct=agreed)
            interest[ln.currency] = interest.get(ln.currency, 0) + r.interest
            comp[ln.currency] = comp.get(ln.currency, 0) + r.compensation
    out = []
    for cur in _currency_order(interest, settings.base_currency):
        i, c = interest[cur], comp.get(cur, 0)
        if not (i or c):
            continue
        text = money.format_money(i, cur, language)
        if c:
            text = (f"{money.format_money(i + c, cur, language)} ({text} de intereses al tipo legal y "
                    f"{money.format_money(c, cur, language)} de indemnización por costes de cobro, Ley 3/2004)"
                    if language == "es" else
                    f"{money.format_money(i + c, cur, language)} ({text} interest at the legal rate and "
                    f"{money.format_money(c, cur, language)} compensation for recovery costs, Spanish Law 3/2004)")
        out.append({"currency": cur, "amount": text})
    return out


def payment_for(settings: Settings, customer: Mapping[str, object], invoices: Sequence[InvoiceLine],
                other_invoices: Sequence[InvoiceLine], language: str) -> PaymentRequest | None:
    """How to pay what a reminder asks for (issue 13), or None when Settings give no account, Bizum or payment
    link (then ``payment_instructions`` stays the Settings free text). The amount is what ``invoices`` owe less
    the open credit notes among ``other_invoices`` (one currency only); the QR payload is set for euros."""
    details = payment_details(settings.extra, company_name=settings.company_name, text=settings.payment_instructions)
    if not (details.iban or details.bizum or details.link_template):
        return None
    owed = money.sum_by_currency([(ln.currency, ln.balance) for ln in invoices if ln.balance > 0])
    credits = money.sum_by_currency([(ln.currency, -ln.balance) for ln in other_invoices if ln.balance < 0])
    return payment_request(details, owed, credits, [ln.invoice_id for ln in invoices],
                           str(customer.get("customer_id", "") or ""), language)


def template_context(*, customer: Mapping[str, object], settings: Settings, as_of: dt.date, level: str,
                     invoices: Sequence[InvoiceLine], other_invoices: Sequence[InvoiceLine],
                     language: str) -> dict[str, Any]:
    """The variables of a reminder (plain values; see the module docstring for what each one is)."""
    base = settings.base_currency
    lang = language

    def money_list(sums: Mapping[str, int], name: str) -> list[dict[str, str]]:
        return [{"currency": c, name: money.format_money(v, c, lang)} for c, v in sums.items()]

    disc = discount_info(invoices, as_of, settings.early_payment_discount, base)
    pay = payment_for(settings, customer, invoices, other_invoices, lang)
    discount = None
    if disc is not None:
        pct, until, amounts = disc
        discount = {"pct": format_pct(pct, lang), "until": format_date(until, lang),
                    "amount": " + ".join(money.format_money(v, c, lang) for c, v in amounts.items())}
    return {
        "customer": {"name": str(customer.get("name", "") or ""),
                     "customer_id": str(customer.get("customer_id", "") or ""),
                     "tax_id": str(customer.get("tax_id", "") or "")},
        "company": {"name": settings.company_name, "sender_name": settings.sender_name,
                    "sender_email": settings.sender_email, "reply_to": settings.reply_to},
        "as_of": format_date(as_of, lang),
        "level": level,
        "invoices": [ln.as_template(lang) for ln in invoices],
        "other_invoices": [ln.as_template(lang) for ln in other_invoices],
        "totals": money_list(_totals(invoices, base), "balance"),
        "statement_totals": money_list(_totals(list(invoices) + list(other_invoices), base), "balance"),
        "payment_instructions": pay.text() if pay is not None else settings.payment_instructions,
        "discount": discount,
        "interest": (legal_interest_list(invoices, as_of, settings, lang) if interest_enabled(settings.extra)
                     else money_list(interest_by_currency(invoices, settings.late_interest_annual_pct, base),
                                     "amount")),
        "max_days_overdue": max((int(ln.days_overdue) for ln in invoices), default=0),
    }


def sample_context(settings: Settings, language: str, full: bool = True) -> dict[str, Any]:
    """A realistic context to try a template with: ``full`` fills every optional part (discount, interest, a
    statement), otherwise they are empty — so both sides of every ``{% if %}`` get exercised."""
    as_of = dt.date(2026, 11, 20)
    cur = settings.base_currency if money.is_known_currency(settings.base_currency) else "EUR"
    lines = [
        InvoiceLine("F-2026-0101", cur, 121000, 121000, dt.date(2026, 11, 15), dt.date(2026, 12, 15), -25,
                    "PO-7781", "Servicios de octubre"),
        InvoiceLine("F-2026-0042", cur, 250000, 130050, dt.date(2026, 9, 1), dt.date(2026, 10, 1), 50,
                    "PO-7702", "Suministro de material"),
    ]
    other = [InvoiceLine("F-2026-0120", cur, 48400, 48400, dt.date(2026, 11, 18), dt.date(2026, 12, 18), -28,
                         "", "Mantenimiento"),
             InvoiceLine("R-2026-0007", cur, -12100, -12100, dt.date(2026, 10, 20), dt.date(2026, 10, 20), 31,
                         "", "Abono")]
    if full:
        s = replace(settings, early_payment_discount=settings.early_payment_discount or (Decimal(2), 10),
                    late_interest_annual_pct=settings.late_interest_annual_pct or Decimal("8.5"),
                    payment_instructions=settings.payment_instructions
                    or "IBAN ES00 0000 0000 0000 0000 0000\nRef.: invoice number")
    else:
        s = replace(settings, early_payment_discount=None, late_interest_annual_pct=Decimal(0),
                    payment_instructions="")
    customer = {"name": "Cliente Ejemplo, S.L." if full else "ACME", "customer_id": "C-0001",
                "tax_id": "B12345678" if full else ""}
    return template_context(customer=customer, settings=s, as_of=as_of, level="r1",
                            invoices=lines if full else lines[1:], other_invoices=other if full else [],
                            language=language)


# ----------------------------------------------------------------------------------- problems

_PART = {"en": {"subject": "subject", "body": "body"}, "es": {"subject": "asunto", "body": "cuerpo"}}
_KIND_TEXT = {
    "syntax": ("syntax error: {detail}", "error de sintaxis: {detail}"),
    "unknown_variable": ('unknown variable "{detail}" (the variables are: {allowed})',
                         'variable desconocida "{detail}" (las variables son: {allowed})'),
    "undefined": ("unknown variable or field: {detail}", "variable o campo desconocido: {detail}"),
    "unsafe": ("refused by the sandbox: {detail}", "rechazado por el entorno seguro: {detail}"),
    "error": ("error while rendering: {detail}", "error al generar el texto: {detail}"),
    "limit": ("too much work or too long a text: {detail}; nothing was sent",
              "demasiado trabajo o un texto demasiado largo: {detail}; no se envió nada"),
    "missing": ('no template "{template}" in the Templates sheet (level {detail})',
                'no existe la plantilla "{template}" en la hoja Plantillas (nivel {detail})'),
    "empty_subject": ("the subject is empty (an e-mail needs one)", "el asunto está vacío (un correo lo necesita)"),
}


@dataclass(frozen=True)
class TemplateProblem:
    """A template that cannot be used, located as the user sees it.

    ``sheet`` is ``Templates`` (``row`` = the template's sheet row) or ``Levels`` (a level naming a template that
    does not exist); ``part`` is ``subject`` or ``body``; ``line`` is the line inside that part (1-based).
    """

    template: str
    language: str
    kind: str  # syntax, unknown_variable, undefined, unsafe, error, limit, missing, empty_subject
    detail: str = ""
    part: str = ""
    line: int | None = None
    row: int = 0
    sheet: str = "Templates"

    def message(self, locale: str = "en") -> str:
        lang = "es" if locale == "es" else "en"
        idx = 1 if lang == "es" else 0
        sheet = (LEVELS if self.sheet == "Levels" else TEMPLATES).title(lang)
        where = [sheet]
        if self.row:
            where.append(f"{'fila' if lang == 'es' else 'row'} {self.row}")
        if self.sheet == "Levels":
            where.append(f'{"columna" if lang == "es" else "column"} "{LEVELS.column("template").header(lang)}"')
        if self.sheet == "Templates":
            where.append(f"{'plantilla' if lang == 'es' else 'template'} \"{self.template}\""
                         + (f" ({self.language})" if self.language else ""))
        if self.part:
            where.append(_PART[lang].get(self.part, self.part))
        if self.line:
            where.append(f"{'línea' if lang == 'es' else 'line'} {self.line}")
        text = _KIND_TEXT.get(self.kind, ("{detail}", "{detail}"))[idx].format(
            detail=self.detail, template=self.template, allowed=", ".join(TEMPLATE_VARIABLES))
        return ", ".join(where) + ": " + text

    def as_dict(self, locale: str = "en") -> dict[str, object]:
        return {"sheet": self.sheet, "row": self.row, "template": self.template, "language": self.language,
                "part": self.part, "line": self.line, "code": self.kind, "detail": self.detail,
                "message": self.message(locale)}


# ----------------------------------------------------------------------------------- html -> text


@dataclass
class Block:
    """A piece of a rendered body: ``p`` (paragraph, ``\\n`` = line break), ``h`` (heading), ``li`` (list item
    with its ``marker``), ``table`` (``rows`` of cell texts), ``hr``."""

    kind: str
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    marker: str = ""
    bold: bool = False
    group: int = 0  # list items of the same (outermost) list share a group
    rich: str = ""  # ``text`` with bold spans marked by BOLD_ON / BOLD_OFF (for letters), "" when none


BOLD_ON, BOLD_OFF = "\x01", "\x02"


def _plain(text: str) -> str:
    return text.replace(BOLD_ON, "").replace(BOLD_OFF, "")


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == BOLD_ON:
            depth += 1
            if depth > 1:
                return False
        elif ch == BOLD_OFF:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


_BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "blockquote", "section",
               "article", "header", "footer", "address", "pre", "hr", "tr", "dl", "dt", "dd"}
_SKIP_TAGS = {"script", "style", "head", "title"}
_RAW_TAGS = {"script", "style", "title", "textarea"}


_TOKEN = re.compile(r"<!--.*?-->|<![^>]*>|<\?[^>]*>"
                    r"|<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
                    r"|([^<]+|<)", re.S)
_ATTR = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")


def _attrs(text: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for m in _ATTR.finditer(text):
        value = m[2]
        if value is not None:
            value = html_unescape(value[1:-1] if value[:1] in "\"'" else value)
        out.append((m[1].lower(), value))
    return out


class _BlockParser:
    """A small, forgiving HTML walker (a regex tokenizer: several times faster than ``html.parser`` on the long
    invoice tables of a statement) that turns a rendered body into ``Block``s."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.buf: list[str] = []
        self.skip = 0
        self.lists: list[list[object]] = []  # [kind, counter]
        self.li_marker: str | None = None
        self.table_depth = 0
        self.rows: list[list[str]] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.cell_span = 1
        self.href: list[str | None] = []
        self.heading = False
        self.list_group = 0

    # text accumulation ------------------------------------------------------------------------------
    def _sink(self) -> list[str]:
        return self.cell if self.cell is not None else self.buf

    @staticmethod
    def _clean(parts: list[str]) -> str:
        text = "".join(parts)
        lines = [" ".join(seg.split()) for seg in text.split("\n")]
        while lines and not lines[0]:
            lines.pop(0)
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)

    def _flush(self) -> None:
        rich = self._clean(self.buf)
        self.buf = []
        text = self._clean([_plain(rich)])
        if not text:
            return
        rich = rich if rich != text and _balanced(rich) and _plain(rich) == text else ""
        if self.li_marker is not None:
            self.blocks.append(Block("li", text, marker=self.li_marker, group=self.list_group, rich=rich))
            self.li_marker = None
        elif self.heading:
            self.blocks.append(Block("h", text, bold=True))
        else:
            self.blocks.append(Block("p", text, rich=rich))

    # parser callbacks --------------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
            return
        if self.skip:
            return
        if self.table_depth and tag not in ("table", "tr", "td", "th", "br", "a"):
            return  # inside a table only cells matter
        if tag == "br":
            self._sink().append("\n")
        elif tag in ("b", "strong"):
            if not self.table_depth:
                self.buf.append(BOLD_ON)
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._sink().append(alt)
        elif tag == "table":
            if self.table_depth == 0:
                self._flush()
                self.rows = []
            self.table_depth += 1
        elif tag == "tr" and self.table_depth == 1:
            self._end_row()
            self.row = []
        elif tag in ("td", "th") and self.table_depth == 1:
            self._end_cell()
            if self.row is None:
                self.row = []
            self.cell = []
            span = str(dict(attrs).get("colspan") or "1")
            self.cell_span = max(1, min(int(span), 50)) if span.isdigit() else 1
        elif tag in _BLOCK_TAGS:
            self._flush()
            if tag in ("ul", "ol"):
                if not self.lists:
                    self.list_group += 1
                self.lists.append([tag, 0])
            elif tag == "li":
                if self.lists and self.lists[-1][0] == "ol":
                    self.lists[-1][1] = int(self.lists[-1][1]) + 1  # type: ignore[call-overload]
                    self.li_marker = f"{self.lists[-1][1]}. "
                else:
                    self.li_marker = "- "
                self.li_marker = "  " * max(0, len(self.lists) - 1) + self.li_marker
            elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.heading = True
            elif tag == "hr":
                self.blocks.append(Block("hr"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "img", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag in ("b", "strong"):
            if not self.table_depth:
                self.buf.append(BOLD_OFF)
            return
        if tag == "a":
            href = self.href.pop() if self.href else None
            sink = self._sink()
            if href and not href.startswith(("#", "javascript:")):
                target = href[7:] if href.startswith("mailto:") else href
                if target not in "".join(sink):
                    sink.append(f" ({target})")
            return
        if self.table_depth:
            if tag in ("td", "th") and self.table_depth == 1:
                self._end_cell()
            elif tag == "tr" and self.table_depth == 1:
                self._end_row()
            elif tag == "table":
                self.table_depth -= 1
                if self.table_depth == 0:
                    self._end_row()
                    if self.rows:
                        self.blocks.append(Block("table", rows=self.rows))
                    self.rows = []
            return
        if tag in _BLOCK_TAGS:
            self._flush()
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.heading = False

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.table_depth > 1:
            if self.cell is not None:
                self.cell.append(data)
            return
        self._sink().append(data.replace("\n", " "))  # source line breaks are spaces; <br> makes a break

    # tables --------------------------------------------------------------------------------------------
    def _end_cell(self) -> None:
        if self.cell is not None:
            if self.row is None:
                self.row = []
            self.row.append(self._clean(self.cell).replace("\n", " "))
            self.row.extend([""] * (self.cell_span - 1))
            self.cell = None
            self.cell_span = 1

    def _end_row(self) -> None:
        self._end_cell()
        if self.row:
            self.rows.append(self.row)
        self.row = None

    def feed(self, html: str) -> None:
        pos, end = 0, len(html)
        while pos < end:
            m = _TOKEN.match(html, pos)
            if m is None:  # pragma: no cover - the last alternative matches any character
                break
            pos = m.end()
            if m[4] is not None:
                self.handle_data(html_unescape(m[4]))
            elif m[2] is not None:
                tag = m[2].lower()
                attrs = m[3] or ""
                if m[1]:
                    self.handle_endtag(tag)
                elif attrs.rstrip().endswith("/"):
                    self.handle_startendtag(tag, _attrs(attrs.rstrip()[:-1]))
                elif tag in _RAW_TAGS:  # script/style/title: raw text up to the closing tag, never parsed
                    close = re.compile(rf"</{tag}\s*>", re.IGNORECASE).search(html, pos)
                    pos = close.end() if close else end
                else:
                    self.handle_starttag(tag, _attrs(attrs) if attrs.strip() else [])

    def close(self) -> None:
        if self.table_depth:
            self.table_depth = 1
            self.handle_endtag("table")
        self._flush()


def html_to_blocks(html: str) -> list[Block]:
    """The structure of an HTML fragment: paragraphs (``<br>`` kept as line breaks), headings, list items, tables."""
    p = _BlockParser()
    p.feed(html)
    p.close()
    return p.blocks


def _table_text(rows: list[list[str]]) -> str:
    width = max(len(r) for r in rows)
    cols = [max((len(r[i]) if i < len(r) else 0) for r in rows) for i in range(width)]
    lines = []
    for r in rows:
        cells = [(r[i] if i < len(r) else "").ljust(cols[i]) for i in range(width)]
        lines.append(" | ".join(cells).rstrip())
    return "\n".join(lines)


def blocks_to_text(blocks: Sequence[Block]) -> str:
    """Plain text of blocks: paragraphs separated by a blank line, list items one per line, tables as rows."""
    out: list[str] = []
    prev: Block | None = None
    for b in blocks:
        if b.kind == "li":
            indent = " " * len(b.marker)
            piece = b.marker + b.text.replace("\n", "\n" + indent)
        elif b.kind == "table":
            piece = _table_text(b.rows)
        elif b.kind == "hr":
            piece = "-" * 20
        else:
            piece = b.text
        if out:
            same_list = b.kind == "li" and prev is not None and prev.kind == "li" and prev.group == b.group
            out.append("\n" if same_list else "\n\n")
        out.append(piece)
        prev = b
    return "".join(out).strip() + "\n" if out else ""


def html_to_text(html: str) -> str:
    """The plain-text part of an HTML body."""
    return blocks_to_text(html_to_blocks(html))


# ----------------------------------------------------------------------------------- environment

_HTML_TAG = re.compile(r"</?(p|br|div|table|ul|ol|li|h[1-6]|b|strong|em|i|u|a|span|tr|td|th|hr|img|html|body|"
                       r"font|center|small|blockquote|pre)\b[^>]*>", re.IGNORECASE)
_JINJA_GLOBALS = {"range", "dict", "lipsum", "cycler", "joiner", "namespace", "loop", "true", "false", "none",
                  "True", "False", "None"}


@dataclass(frozen=True)
class RenderLimits:
    """How much work one message and one run may take (issue 15: a template is data a user typed).

    Work is counted in *steps*, not read from a clock (the core reads none): a loop iteration, a call, an
    operator, a filter or an output chunk is one step, plus one per KiB of text it makes — well under a
    microsecond each, so the defaults bound a message to a fraction of a second and a run to well under a minute
    whatever the template says (the default texts take a few hundred steps a message). A single value is capped
    by size before it is made (``'a'*10**9``, ``7**(9**9)``, ``lipsum(10**7)``), never after. A host may add a
    wall-clock deadline by giving ``TemplateSet`` a ``clock``.
    """

    steps_per_message: int = 500_000
    steps_per_run: int = 100_000_000
    output_per_message: int = 1_000_000  # characters of one part (subject or body)
    output_per_run: int = 200_000_000
    max_text: int = 1_000_000  # one string or list made by *, +, ~, %, a filter or a method
    max_range: int = 100_000  # one range(), as Jinja's sandbox (MAX_RANGE)
    max_int_bits: int = 4_096  # about 1,233 digits
    max_lipsum_words: int = 10_000
    seconds_per_message: float = 5.0  # only with a clock
    seconds_per_run: float = 600.0


DEFAULT_LIMITS = RenderLimits()


class TemplateLimitError(InputError):
    """A template asked for more work or a bigger value than ``RenderLimits`` allows (caught by ``TemplateSet`` and
    reported as a ``TemplateProblem`` of kind ``limit``)."""


class _RunBudget:
    """What is left of a run's allowance (one per ``TemplateSet``)."""

    def __init__(self, limits: RenderLimits, clock: Any = None) -> None:
        self.limits = limits
        self.steps = limits.steps_per_run
        self.output = limits.output_per_run
        self.clock = clock
        self.deadline = clock() + limits.seconds_per_run if clock is not None else None


class _Budget:
    """What is left of one render's allowance; hooks charge it and refuse when it runs out."""

    __slots__ = ("deadline", "limits", "made", "output", "run", "steps", "tick")

    def __init__(self, run: _RunBudget) -> None:
        self.run = run
        self.limits = run.limits
        self.steps = run.limits.steps_per_message
        self.output = run.limits.output_per_message
        self.made = run.limits.output_per_message * 8  # text made anywhere: macros, {% set %} blocks, output
        self.tick = 0
        self.deadline = None
        if run.clock is not None:
            self.deadline = min(run.clock() + run.limits.seconds_per_message, run.deadline or float("inf"))

    def charge(self, steps: int) -> None:
        self.steps -= steps
        self.run.steps -= steps
        if self.steps < 0:
            raise TemplateLimitError(f"more than {self.limits.steps_per_message:,} steps of work for one message "
                                     "(a loop too long, or loops inside loops)")
        if self.run.steps < 0:
            raise TemplateLimitError(f"more than {self.limits.steps_per_run:,} steps of work for this run")
        self.tick += 1
        if self.deadline is not None and not self.tick & 1023 and self.run.clock() > self.deadline:
            raise TemplateLimitError(f"rendering took longer than {self.limits.seconds_per_message:g} s")

    def make(self, n: int) -> None:
        """Text a template makes anywhere (a macro's or a block's body too, not only what reaches the message)."""
        self.made -= n
        self.charge(1 + (n >> 10))
        if self.made < 0:
            raise TemplateLimitError(f"more than {self.limits.output_per_message * 8:,} characters of text made "
                                     "for one message (macros or blocks building text in a loop)")

    def emit(self, n: int) -> None:
        self.output -= n
        self.run.output -= n
        if self.output < 0:
            raise TemplateLimitError(f"the text is longer than {self.limits.output_per_message:,} characters")
        if self.run.output < 0:
            raise TemplateLimitError(f"this run's messages are longer than {self.limits.output_per_run:,} "
                                     "characters in all")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("cobro_render_budget", default=None)


def _budget() -> _Budget:
    b = _BUDGET.get()
    if b is None:  # a compiled template rendered outside TemplateSet: the defaults, for this call
        b = _Budget(_RunBudget(DEFAULT_LIMITS))
        _BUDGET.set(b)
    return b


def _size(value: object) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else 0


def _text_cap(n: int, what: str) -> None:
    limit = _budget().limits.max_text
    if n > limit:
        raise TemplateLimitError(f"{what} would make a value of {n:,} characters or items (at most {limit:,})")


def _check_int(value: object, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _budget().limits.max_int_bits:
        raise TemplateLimitError(f"{what} would make a number of more than {_budget().limits.max_int_bits:,} bits")


_WIDE_FORMAT = re.compile(r"%[-#0 +]*(\*|\d{7,})|\{[^{}]*:[^{}]*\d{7,}[^{}]*\}|\{[^{}]*:[^{}]*\{")


class _CountedRange:
    """``range`` whose iteration is charged to the render's budget (so loops in loops run out, fast)."""

    __slots__ = ("_r",)

    def __init__(self, r: range) -> None:
        self._r = r

    def __iter__(self) -> Iterator[int]:
        b = _budget()
        for i in self._r:
            b.charge(1)
            yield i

    def __reversed__(self) -> Iterator[int]:
        b = _budget()
        for i in reversed(self._r):
            b.charge(1)
            yield i

    def __len__(self) -> int:
        return len(self._r)

    def __getitem__(self, i: Any) -> Any:
        item = self._r[i]
        return _CountedRange(item) if isinstance(item, range) else item

    def __contains__(self, x: object) -> bool:
        return x in self._r

    def __repr__(self) -> str:
        return repr(self._r)


class _CountedList(list):  # type: ignore[type-arg]
    """A list from the context whose iteration is charged to the budget (``{% for a in invoices %}`` nested)."""

    def __iter__(self) -> Iterator[Any]:
        b = _budget()
        for x in list.__iter__(self):
            b.charge(1)
            yield x


def _counted(value: Any) -> Any:
    if isinstance(value, list):
        return _CountedList(_counted(v) for v in value)
    if isinstance(value, dict):
        return {k: _counted(v) for k, v in value.items()}
    return value


def _bounded_range(*args: int) -> _CountedRange:
    r = range(*args)
    limit = _budget().limits.max_range
    if len(r) > limit:
        raise TemplateLimitError(f"range() of {len(r):,} numbers (at most {limit:,})")
    return _CountedRange(r)


def _bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
    words = int(n) * int(max)
    limit = _budget().limits.max_lipsum_words
    if words > limit or n < 0 or max < 0:
        raise TemplateLimitError(f"lipsum({n}) would make up to {words:,} words (at most {limit:,})")
    _budget().charge(1 + words // 100)
    return jinja2.utils.generate_lorem_ipsum(n=n, html=html, min=min, max=max)


_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_WIDTH_FILTERS = {"center": 1, "indent": 1, "wordwrap": 1, "truncate": 1}  # the position of the width argument


def _guard_filter(name: str, f: Any) -> Any:
    """A filter that charges the budget and refuses widths, joins and replacements beyond the caps."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        b = _budget()
        b.charge(1)
        plain = [a for a in args if not isinstance(a, (jinja2.runtime.Context, jinja2.nodes.EvalContext,
                                                         jinja2.Environment))]
        if name in _WIDTH_FILTERS:
            for a in list(plain[1:]) + list(kwargs.values()):
                if isinstance(a, int) and not isinstance(a, bool):
                    _text_cap(a, f"{name}({a})")
        elif name == "join" and plain and isinstance(plain[0], (list, tuple, _CountedRange)):
            sep = plain[1] if len(plain) > 1 else kwargs.get("d", "")
            _text_cap(sum(len(str(x)) for x in plain[0]) + len(str(sep)) * len(plain[0]), "join")
        elif name == "replace" and len(plain) >= 3:
            text, old, new = str(plain[0]), str(plain[1]), str(plain[2])
            _text_cap(len(text) + (text.count(old) if old else len(text) + 1) * max(0, len(new) - len(old)),
                      "replace")
        elif name == "format" and plain and isinstance(plain[0], str) and _WIDE_FORMAT.search(plain[0]):
            raise TemplateLimitError("a format with a width of a million characters or more")
        out = f(*args, **kwargs)
        n = _size(out)
        if n:
            b.charge(n >> 10)
            _text_cap(n, name)
        return out

    guarded.__dict__.update(getattr(f, "__dict__", {}))  # keep jinja's pass_context / pass_eval_context marks
    return guarded


class _BoundedCodeGenerator(jinja2.compiler.CodeGenerator):
    """Jinja's code generator with ``~`` (string concatenation) checked against the caps before it joins, and every
    piece of output — literal or computed, in the message, a macro or a ``{% set %}`` block — counted as made."""

    def _output_const_repr(self, group: Any) -> str:
        return f"environment.bounded_text({super()._output_const_repr(group)})"

    def _output_child_pre(self, node: nodes.Expr, frame: Any, finalize: Any) -> None:
        self.write("environment.bounded_text(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Any, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
        self.write("environment.bounded_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with every hook charged to a budget and every value capped by size."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%", "//", "/", "-"})

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.globals["range"] = _bounded_range
        self.globals["lipsum"] = _bounded_lipsum
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        b = _budget()
        b.charge(1)
        if operator == "**":
            if isinstance(left, int) and isinstance(right, int) and not isinstance(right, bool):
                if right > 0 and abs(left) > 1 and right * max(1, abs(left).bit_length() - 1) > b.limits.max_int_bits:
                    raise TemplateLimitError(f"{left} ** {right} is too large a number")
        elif operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(n, int) and not isinstance(n, bool) and isinstance(seq, (str, list, tuple)):
                    _text_cap(len(seq) * max(n, 0), "*")
            if isinstance(left, int) and isinstance(right, int):
                _check_int(1 << (left.bit_length() + right.bit_length()), "*")
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                _text_cap(len(left) + len(right), "+")
                b.charge((len(left) + len(right)) >> 10)
        elif operator == "%" and isinstance(left, str):
            if _WIDE_FORMAT.search(left):
                raise TemplateLimitError("a format with a width of a million characters or more")
        out = super().call_binop(context, operator, left, right)
        _check_int(out, operator)
        return out

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        b = _budget()
        b.charge(1)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name in _WIDTH_METHODS:
                for a in list(args) + list(kwargs.values()):
                    if isinstance(a, int) and not isinstance(a, bool):
                        _text_cap(a, f"{name}({a})")
            elif name == "replace" and len(args) >= 2:
                old, new = str(args[0]), str(args[1])
                _text_cap(len(owner) + (owner.count(old) if old else len(owner) + 1) * max(0, len(new) - len(old)),
                          "replace")
            elif name == "join" and args and isinstance(args[0], (list, tuple)):
                _text_cap(sum(len(str(x)) for x in args[0]) + len(owner) * len(args[0]), "join")
        for a in list(args) + list(kwargs.values()):  # a macro handed a huge value (recursion doubling text)
            if isinstance(a, (str, list, tuple)):
                _text_cap(len(a), "a call")
        out = super().call(__context, __obj, *args, **kwargs)
        n = _size(out)
        if n:
            b.charge(n >> 10)
            _text_cap(n, "a call")
        return out

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        if _WIDE_FORMAT.search(str(value.__self__)):
            def refuse(*args: Any, **kwargs: Any) -> str:
                raise TemplateLimitError("a format with a width of a million characters or more")
            return refuse
        return wrapped

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().charge(1)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _budget().charge(1)
        return super().getitem(obj, argument)

    def bounded_text(self, value: Any) -> Any:
        _budget().make(len(value))
        return value

    def bounded_concat(self, value: Any) -> Any:
        n = _size(value)
        b = _budget()
        b.charge(1 + (n >> 10))
        _text_cap(n, "~")
        return value


def _env(autoescape: bool) -> ImmutableSandboxedEnvironment:
    return _BoundedSandbox(undefined=jinja2.StrictUndefined, autoescape=autoescape, keep_trailing_newline=False)


# One sandbox per kind of part, shared: compiled templates are immutable and reusable, and compiling is the slow
# step (the same texts are compiled once per process, not once per plan).
_HTML_ENV = _env(True)
_TEXT_ENV = _env(False)


def _render_bounded(tpl: jinja2.Template, context: Mapping[str, Any], budget: _Budget) -> str:
    """Render chunk by chunk, charging each and refusing output past the cap as it is made (not afterwards)."""
    token = _BUDGET.set(budget)
    try:
        parts: list[str] = []
        for chunk in tpl.generate(context):
            budget.charge(1 + (len(chunk) >> 10))
            budget.emit(len(chunk))
            parts.append(chunk)
        return "".join(parts)
    finally:
        _BUDGET.reset(token)


@lru_cache(maxsize=1024)
def _compile(text: str, html: bool) -> tuple[jinja2.Template | None, jinja2.TemplateSyntaxError | None,
                                             tuple[tuple[str, int | None], ...]]:
    """(template, syntax error, unknown variable names with their first line) for one part's text."""
    env = _HTML_ENV if html else _TEXT_ENV
    try:
        tpl = env.from_string(text)
    except jinja2.TemplateSyntaxError as e:
        return None, e, ()
    ast = env.parse(text)
    unknown = sorted(meta.find_undeclared_variables(ast) - set(TEMPLATE_VARIABLES) - _JINJA_GLOBALS)
    names = tuple((name, next((n.lineno for n in ast.find_all(nodes.Name) if n.name == name), None))
                  for name in unknown)
    return tpl, None, names


@dataclass
class Rendered:
    """A rendered message: ``subject`` (one line), ``html`` (a full document), ``body_html`` (the fragment),
    ``text`` (plain-text part), ``blocks`` (structure, for letters)."""

    subject: str
    html: str
    body_html: str
    text: str
    blocks: list[Block]
    language: str
    template: str


@dataclass
class _Source:
    key: str
    language: str
    subject: str
    body: str
    row: int
    is_html: bool
    compiled: dict[str, jinja2.Template | None] = field(default_factory=dict)


class TemplateRenderError(InputError):
    """Rendering failed; carries the ``TemplateProblem``."""

    def __init__(self, problem: TemplateProblem):
        self.problem = problem
        super().__init__(problem.message())


def _norm_key(key: object) -> str:
    return str(key or "").strip().casefold()


def _problem_from_exc(exc: BaseException, src: _Source, part: str) -> TemplateProblem:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateProblem(src.key, src.language, "syntax", exc.message or str(exc), part, exc.lineno, src.row)
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>":
            line = frame.lineno
    if isinstance(exc, TemplateLimitError):
        kind = "limit"
    elif isinstance(exc, (MemoryError, RecursionError, OverflowError)):
        kind, exc = "limit", TemplateLimitError(f"{type(exc).__name__}: {exc}"[:200])
    elif isinstance(exc, jinja2.sandbox.SecurityError):
        kind = "unsafe"
    elif isinstance(exc, jinja2.UndefinedError):
        kind = "unsafe" if "unsafe" in str(exc) else "undefined"
    else:
        kind = "error"
    detail = str(exc) if kind != "error" else f"{type(exc).__name__}: {exc}"
    if len(detail) > 300:
        detail = detail[:300] + "…"
    return TemplateProblem(src.key, src.language, kind, detail, part, line, src.row)


class TemplateSet:
    """The Templates sheet, compiled once: pick a template for a language and render it."""

    def __init__(self, templates: pd.DataFrame, default_language: str = "es",
                 limits: RenderLimits = DEFAULT_LIMITS, clock: Callable[[], float] | None = None):
        """``limits`` bound each message and the whole run of this set (``RenderLimits``); ``clock`` (a host's
        ``time.monotonic``) adds a wall-clock deadline to the step counts — the core reads no clock itself."""
        self.default_language = default_language
        self.limits = limits
        self._run = _RunBudget(limits, clock)
        self.sources: dict[tuple[str, str], _Source] = {}
        self.problems: list[Problem | TemplateProblem] = []
        first_row: dict[tuple[str, str], int] = {}
        for rec in templates.to_dict("records"):
            key = str(rec.get("template", "") or "").strip()
            lang = str(rec.get("language", "") or "").strip() or default_language
            row = int(rec.get("_row", 0) or 0)
            nk = (_norm_key(key), lang)
            if not key:
                continue
            if nk in first_row:
                self.problems.append(Problem("Templates", row, "template", key, "unique", {"other": first_row[nk]}))
                continue
            first_row[nk] = row
            body = str(rec.get("body", "") or "")
            src = _Source(key, lang, str(rec.get("subject", "") or ""), body, row, bool(_HTML_TAG.search(body)))
            self.sources[nk] = src
            for part, text in (("subject", src.subject), ("body", src.body)):
                tpl, err, unknown = _compile(text, part == "body" and src.is_html)
                src.compiled[part] = tpl
                if err is not None:
                    self.problems.append(_problem_from_exc(err, src, part))
                for name, line in unknown:
                    self.problems.append(TemplateProblem(src.key, src.language, "unknown_variable", name, part,
                                                         line, src.row))

    def has(self, key: str) -> bool:
        k = _norm_key(key)
        return any(nk == k for nk, _ in self.sources)

    def languages(self, key: str) -> list[str]:
        k = _norm_key(key)
        return sorted((lang for nk, lang in self.sources if nk == k), key=lambda x: (x not in ("es", "en"), x))

    def pick(self, key: str, language: str) -> _Source | None:
        """The template row for ``key`` in ``language``, else in the default language, else in any language."""
        k = _norm_key(key)
        for lang in (language, self.default_language):
            if (k, lang) in self.sources:
                return self.sources[(k, lang)]
        langs = self.languages(key)
        return self.sources[(k, langs[0])] if langs else None

    def render(self, key: str, language: str, context: Mapping[str, Any]) -> Rendered:
        """Render ``key`` for ``language`` (with fallbacks). Raises ``TemplateRenderError`` on any failure."""
        src = self.pick(key, language)
        if src is None:
            raise TemplateRenderError(TemplateProblem(key, language, "missing", "", row=0))
        return self._render_source(src, context)

    def _render_source(self, src: _Source, context: Mapping[str, Any]) -> Rendered:
        if src.compiled.get("subject") is None or src.compiled.get("body") is None:
            bad = next(p for p in self.problems if isinstance(p, TemplateProblem) and p.row == src.row
                       and p.template == src.key)
            raise TemplateRenderError(bad)
        text_ctx = _counted(dict(context))
        html_ctx = dict(text_ctx)
        pi = str(context.get("payment_instructions", "") or "")
        html_ctx["payment_instructions"] = Markup("<br>\n").join(escape(x) for x in pi.split("\n")) if pi else ""
        budget = _Budget(self._run)  # one allowance per message (subject and body), drawn from the run's
        try:
            subject = one_line(_render_bounded(src.compiled["subject"], text_ctx, budget))  # type: ignore[arg-type]
        except Exception as e:  # noqa: BLE001 - every failure of a user template becomes a located problem
            raise TemplateRenderError(_problem_from_exc(e, src, "subject")) from None
        try:
            if src.is_html:
                body_html = _render_bounded(src.compiled["body"], html_ctx, budget)  # type: ignore[arg-type]
            else:
                plain = _render_bounded(src.compiled["body"], text_ctx, budget)  # type: ignore[arg-type]
                body_html = _plain_to_html(plain)
        except Exception as e:  # noqa: BLE001
            raise TemplateRenderError(_problem_from_exc(e, src, "body")) from None
        blocks = html_to_blocks(body_html)
        text = blocks_to_text(blocks)
        html = (f'<!DOCTYPE html>\n<html lang="{src.language}">\n<head>\n<meta charset="utf-8">\n'
                f"<title>{html_escape(subject)}</title>\n</head>\n<body>\n{body_html.strip()}\n</body>\n</html>\n")
        return Rendered(subject, html, body_html, text, blocks, src.language, src.key)


def _plain_to_html(text: str) -> str:
    """A plain-text body as HTML: blank lines separate paragraphs, single line breaks become ``<br>``."""
    paras = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").strip())
    return "\n".join("<p>" + "<br>\n".join(html_escape(ln) for ln in p.split("\n")) + "</p>"
                     for p in paras if p.strip())


# ----------------------------------------------------------------------------------- checking


def check_templates(ledger: Ledger) -> list[Problem | TemplateProblem]:
    """Every reason a reminder could not be rendered, found before anything is sent.

    Reports duplicate template rows (same key and language), levels whose template does not exist (for e-mail,
    letter and WhatsApp levels; a call task can do without), syntax errors, unknown variables, sandbox violations
    and runtime errors (each template is rendered with a sample reminder with and without the optional parts),
    and e-mail levels whose subject renders empty. Each problem names the template key, language, part and line.
    """
    ts = TemplateSet(ledger.templates, ledger.settings.locale)
    return check_template_set(ts, ledger)


_CHECKED: dict[tuple[object, ...], list[Problem | TemplateProblem]] = {}


def check_template_set(ts: TemplateSet, ledger: Ledger) -> list[Problem | TemplateProblem]:
    """``check_templates`` for an already compiled ``TemplateSet`` (memoized on the texts, levels and settings:
    a plan run day after day on the same workbook checks its templates once)."""
    key = (tuple((s.key, s.language, s.subject, s.body, s.row) for s in ts.sources.values()),
           tuple(map(repr, ts.problems)),
           tuple((str(r.get("level", "")), str(r.get("template", "")), str(r.get("channel", "")), r.get("_row"))
                 for r in ledger.levels.to_dict("records")),
           repr(ledger.settings))
    if key not in _CHECKED:
        if len(_CHECKED) > 32:
            _CHECKED.clear()
        _CHECKED[key] = _check_template_set(ts, ledger)
    return list(_CHECKED[key])


def _check_template_set(ts: TemplateSet, ledger: Ledger) -> list[Problem | TemplateProblem]:
    problems: list[Problem | TemplateProblem] = list(ts.problems)
    broken = {p.row for p in problems if isinstance(p, TemplateProblem)}
    email_keys: set[str] = set()
    for rec in ledger.levels.to_dict("records"):
        level = str(rec.get("level", "") or "").strip()
        if not level:
            continue
        key = str(rec.get("template", "") or "").strip() or level
        channel = str(rec.get("channel", "") or "email") or "email"
        if channel == "email":
            email_keys.add(_norm_key(key))
        if channel in CHANNELS_NEEDING_TEMPLATE and not ts.has(key):
            problems.append(TemplateProblem(key, "", "missing", level, "", None, int(rec.get("_row", 0) or 0),
                                            sheet="Levels"))
    for src in ts.sources.values():
        if src.row in broken and any(isinstance(p, TemplateProblem) and p.row == src.row and p.template == src.key
                                     for p in problems):
            continue
        for full in (True, False):
            ctx = sample_context(ledger.settings, src.language, full)
            try:
                rendered = ts._render_source(src, ctx)
            except TemplateRenderError as e:
                problems.append(e.problem)
                break
            if full and not rendered.subject and _norm_key(src.key) in email_keys:
                problems.append(TemplateProblem(src.key, src.language, "empty_subject", "", "subject", 1, src.row))
                break
    return problems
