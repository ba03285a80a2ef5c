"""Deciding what to send: ``plan_reminders(ledger, as_of)`` — pure, the same answer every time for the same ledger
and date.

The rules (Odoo's follow-up semantics plus the lessons of Invoice Ninja's bug tracker)
=====================================================================================

**The ladder.** The Levels sheet lists the levels with an offset in days from the due date (negative = before
it), a channel (email, phone, whatsapp, letter), a template and ``stop``. Levels are ordered by offset (sheet
order breaks ties). An invoice reaches a level once ``as_of >= due_date + offset`` — and only one level at a time:
levels are never skipped. An invoice at L1 whose L3 threshold has also passed gets L2 now, and L3 no earlier than
``offset(L3) - offset(L2)`` days after the day L2 was actually reached; never two levels on the same day. A run
after an outage sends what fell due meanwhile (one level per invoice per run), and nothing is sent twice for the
same invoice and level. An invoice with no due date uses its issue date. Because nothing is skipped, a catch-up (or
an invoice entered late) can receive a level meant for before the due date when it is already due: templates can
word that case with ``days_overdue`` / ``max_days_overdue``, and an imported backlog can start further up the
ladder through the ``reminder_level`` column (below).

**Which level has an invoice reached?** The Contacts log is the source of truth; only rows dated on or before
``as_of`` are read (so ``--as-of`` replays a past day exactly). A row counts as "level reached" for the invoices in
its ``invoice_ids`` when its ``level`` is a level of the ladder, its ``direction`` is not ``in`` and its outcome is
anything but ``failed`` or ``bounced`` (a message that reached nobody): ``sent``, blank (a call task, a letter or a
WhatsApp link that cobro prepared), ``reached``, ``no_answer``, ``promise``… all count. The day reached is the
row's timestamp date.

- Rows written by cobro (``user`` = ``cobro``) move each listed invoice up *one* level at most: a message at the
  highest level of a customer lists invoices that were due lower levels, and each of them reached its own next
  level (``ReminderItem.contact_rows`` writes one row per level anyway).
- Rows entered by a person count at face value (logging ``letter`` by hand puts the invoice at ``letter``).
- A row with blank ``invoice_ids`` concerns every invoice of the customer that was issued by that day and had
  passed that level's threshold.
- The invoice's ``reminder_level`` column is the fallback for invoices the log never mentions with a level (an
  imported history): the invoice is at that level since its ``last_contact`` date (or since the level's threshold
  when blank). Set it by hand to start imported invoices further up the ladder.

**The stop level.** The first level with ``stop`` hands the invoice to a person: it is sent like any other level,
then no more automatic actions for that invoice; the plan lists it under ``handovers`` (with the customer's
collector). Levels after it are never reached automatically. When the ladder ends without a stop, nothing follows
its last level.

**One action per customer and channel.** Every invoice due a level this run is grouped by customer and by the
channel of its level; each group is one item at the highest level among its invoices (that level's template),
listing those invoices; the customer's other open invoices (not disputed; credit notes included) appear in it as a
statement (``other_invoices``).

**Nothing is planned for** (each becomes an entry of ``skipped`` with its reason, when something was due):

- paid invoices (balance ≤ 0 as of the date, ``cobro.balances``), cancelled and written-off ones;
- disputed invoices: status ``disputed``, or a Contacts row with outcome ``dispute`` (with blank invoice_ids: the
  customer's invoices issued by then) not followed by a later row for them with outcome ``reached``, ``promise`` or
  ``paid`` (the collector talked to the customer again);
- customers whose status is paused, legal or closed;
- an unbroken promise to pay: the latest Contacts row with outcome ``promise`` covering the invoice (or the
  customer, blank invoice_ids) whose ``promise_date`` + ``Settings.promise_grace_days`` ≥ as_of (a promise without
  a date holds for the grace days from the day it was logged);
- a customer's claim that they paid (outcome ``paid``): held for ``promise_grace_days`` from the day it was logged,
  time for the money to show up;
- a payment plan being kept (Plans sheet): a plan with pending installments, none ``missed`` and none pending past
  its due date + grace, holds the invoices it names (blank: all the customer's invoices);
- small balances (judgement, issue 13): an invoice whose balance is at or below ``Settings.write_off_tolerance`` of
  its currency is not chased (``write_off``: write it off or claim it with the next invoice; the worklist lists it
  with the amount); each message, call or letter must be worth it on its own: per channel (one item each) and
  currency, the customer's invoices due a level are skipped when, together, they are below the minimum of that
  currency (``below_minimum``: ``Settings.min_reminder_amount`` for the base currency when set, else
  ``Settings.min_reminder_amounts``), and those due a formal level — a letter or the stop level — when together
  below ``Settings.min_formal_amounts`` (``below_formal_minimum``). Amounts of different currencies are never
  compared or added;
- no usable address: an e-mail level needs a valid address in Customers.email (invalid ones are ignored, with a
  warning), a WhatsApp level a phone number with its country code (or a national number of Settings.country); the
  plan lists a ``fixes`` item ("fix contact data") instead. A call task without a phone number is still made (with
  a warning): a person can look the number up.

**Business days.** With ``Settings.business_days_only`` a date that is a weekend or a public holiday of
``Settings.country`` has an empty plan (``working_day`` false, ``holiday`` and ``next_working_day`` say why and
when); the next working day's plan includes everything that fell due meanwhile. See ``cobro.workdays`` for the
time zone and the send window.

**What next.** ``next_steps(ledger, as_of)`` answers, for each customer with nothing due today, what the planner
will do next and when — the next level and its date (the ladder's gap after the last level respected, the day
after a promise or payment plan ends), a handover, or why nothing is chased (write-off, below the minimum). It is
the same decision as the plan's (``_decide``), so ``remind --dry-run``, the page and the worklist tell one story.

**What each item carries** (the sender recomputes nothing): customer, channel, level, invoices and the level each of
them reaches, recipients (``to``, ``cc``), sender, subject (one line), HTML and plain-text parts, a deterministic
``message_id`` (customer + level + date), and per channel: ``letter_pdf`` (bytes), ``whatsapp_url`` (a ready
``https://wa.me/<digits>?text=…`` link) or ``call_notes``. ``contact_rows`` gives the Contacts rows to append once
it is done. Template problems (see ``cobro.render.check_templates``), an unusable Settings country (with
business_days_only) and a malformed sender_email / reply_to are reported in ``errors`` before anything is rendered;
a plan with errors must not be sent (``plan.ok`` is false).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from cobro.addresses import is_valid_email

from . import i18n, money
from .balances import advances, invoice_balances
from .ledger import Ledger, Problem, Settings, make_frame
from .letters import render_letter
from .payment import qr_available
from .render import (
    InvoiceLine,
    Rendered,
    TemplateProblem,
    TemplateRenderError,
    TemplateSet,
    check_template_set,
    format_date,
    one_line,
    payment_for,
    template_context,
)
from .safety import header_value
from .schema import CONTACTS
from .statement import company_from_settings
from .workdays import WorkdaysError, holiday_name, is_workday, next_workday

__all__ = [
    "ContactFix",
    "Handover",
    "Level",
    "NextStep",
    "ReminderItem",
    "ReminderPlan",
    "Skip",
    "is_valid_email",
    "ladder",
    "message_id",
    "next_steps",
    "plan_reminders",
    "whatsapp_number",
]

NOT_REACHED_OUTCOMES = ("failed", "bounced")
HELD_CUSTOMER_STATUSES = ("paused", "legal", "closed")
LIFT_DISPUTE_OUTCOMES = ("reached", "promise", "paid")
COBRO_USER = "cobro"

# ----------------------------------------------------------------------------------- small helpers

# International calling codes of the countries cobro's users are in (national numbers get the code of
# Settings.country; a number written with + or 00 is already international).
CALLING_CODES: dict[str, str] = {
    "ES": "34", "MX": "52", "AR": "54", "CO": "57", "CL": "56", "PE": "51", "EC": "593", "VE": "58", "UY": "598",
    "PY": "595", "BO": "591", "CR": "506", "PA": "507", "GT": "502", "HN": "504", "SV": "503", "NI": "505",
    "DO": "1", "PR": "1", "CU": "53", "US": "1", "CA": "1", "GB": "44", "IE": "353", "PT": "351", "FR": "33",
    "DE": "49", "IT": "39", "NL": "31", "BE": "32", "CH": "41", "AT": "43", "AD": "376", "BR": "55",
}


def whatsapp_number(phone: str, country: str) -> str | None:
    """The digits ``wa.me`` wants (country code + number, no ``+``), or ``None`` when the phone cannot be used.

    ``+34 612 34 56 78`` and ``0034612345678`` → ``34612345678``; ``612 345 678`` with country ES → the same;
    a national number of a country cobro has no calling code for → ``None``.
    """
    text = re.split(r"[/;,]|\bext\b|\bx\b", str(phone or "").strip(), maxsplit=1)[0].strip()
    if not text:
        return None
    intl = text.startswith("+") or text.startswith("00")
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits = digits[2:]
    if not intl:
        code = CALLING_CODES.get(country.strip().upper()[:2])
        digits = digits.lstrip("0")
        if code is None:
            return None
        if not (len(digits) >= 11 and digits.startswith(code)):
            digits = code + digits
    return digits if 8 <= len(digits) <= 15 else None


def _domain(sender_email: str) -> str:
    dom = sender_email.strip().rsplit("@", 1)[-1].lower() if "@" in sender_email else ""
    if dom and re.fullmatch(r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)+", dom):
        return dom
    return "cobro.local"


def message_id(customer_id: str, level: str, as_of: dt.date, sender_email: str = "", ledger_id: str = "") -> str:
    """The deterministic Message-ID of the reminder to ``customer_id`` at ``level`` on ``as_of`` — the one
    Message-ID scheme: ``<cobro.{sha1[:16]}@{sender domain or cobro.local}>``. The same inputs always give the
    same id, so the sender's journal can tell whether a message was already sent; ``ledger_id`` (kept by the
    send journal, ``sync.journal``) makes it unique per ledger: two ledgers with the same customer ids and
    sender domain never share one."""
    basis = "\x1f".join([str(customer_id).strip(), str(level).strip().casefold(), _as_date(as_of).isoformat()])
    if ledger_id:
        basis = f"{ledger_id}\x1f{basis}"
    return f"<cobro.{hashlib.sha1(basis.encode('utf-8')).hexdigest()[:16]}@{_domain(sender_email)}>"


def _as_date(value: dt.date | str | pd.Timestamp) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def _day(ts: object) -> dt.date | None:
    if ts is None or ts is pd.NaT or (isinstance(ts, float) and ts != ts):
        return None
    return pd.Timestamp(ts).date()  # type: ignore[arg-type]


def _fmt_totals(totals: Mapping[str, int]) -> dict[str, str]:
    return {c: money.format_decimal(v, c) for c, v in totals.items()}


# ----------------------------------------------------------------------------------- the ladder


@dataclass(frozen=True)
class Level:
    key: str
    days: int
    channel: str
    template: str  # template key (the level's own key when the sheet leaves it blank)
    stop: bool
    row: int
    index: int  # position in the ladder (0 = first)


def ladder(levels: pd.DataFrame, problems: list[Problem] | None = None) -> list[Level]:
    """The Levels sheet as an ordered ladder (by offset, then sheet order). Rows without a key or without days are
    left out and reported in ``problems``; a repeated key keeps its first row."""
    problems = problems if problems is not None else []
    recs = []
    seen: dict[str, int] = {}
    for pos, rec in enumerate(levels.to_dict("records")):
        key = str(rec.get("level", "") or "").strip()
        row = int(rec.get("_row", 0) or 0)
        days = rec.get("days")
        if not key:
            continue
        if days is None or days is pd.NA or (isinstance(days, float) and days != days):
            problems.append(Problem("Levels", row, "days", None, "required"))
            continue
        if key.casefold() in seen:
            problems.append(Problem("Levels", row, "level", key, "unique", {"other": seen[key.casefold()]}))
            continue
        seen[key.casefold()] = row
        channel = str(rec.get("channel", "") or "") or "email"
        template = str(rec.get("template", "") or "").strip() or key
        recs.append((int(days), pos, key, channel, template, bool(rec.get("stop", False)), row))
    recs.sort(key=lambda r: (r[0], r[1]))
    return [Level(key, days, channel, template, stop, row, i)
            for i, (days, _pos, key, channel, template, stop, row) in enumerate(recs)]


# ----------------------------------------------------------------------------------- plan objects

# The texts a person reads live in the translation catalogue (cobro.i18n): skip.<reason>, fix.<problem>,
# next.<kind>, call.subject / call.notes.


@dataclass
class Skip:
    """Something was due for this customer but is not sent, and why."""

    customer_id: str
    customer_name: str
    reason: str  # paused, legal, closed, dispute, promise, paid_claim, plan, covered_by_credit, below_minimum,
    #              below_formal_minimum, write_off, no_address
    invoice_ids: tuple[str, ...]
    until: dt.date | None = None
    detail: str = ""

    def message(self, locale: str = "en") -> str:
        """Why it is not sent, in the customer's language (``skip.<reason>``; an unknown reason as itself)."""
        key = f"skip.{self.reason}"
        if key not in i18n.catalog(i18n.FALLBACK):
            return self.reason
        return i18n.text(key, locale, until=format_date(self.until, i18n.language(locale)), detail=self.detail)

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        return {"customer_id": self.customer_id, "customer_name": self.customer_name, "reason": self.reason,
                "invoice_ids": list(self.invoice_ids), "until": self.until.isoformat() if self.until else None,
                "detail": self.detail, "message": self.message(locale)}


@dataclass
class ContactFix:
    """A "fix contact data" task: a reminder was due but the customer has no usable address for its channel."""

    customer_id: str
    customer_name: str
    channel: str
    level: str
    invoice_ids: tuple[str, ...]
    field: str  # email or phone (the Customers column to fix)
    problem: str  # no_email, invalid_email, no_phone, invalid_phone
    value: str = ""

    def message(self, locale: str = "en") -> str:
        """What to fix, for a person (``fix.<problem>``)."""
        return i18n.text(f"fix.{self.problem}", locale, value=self.value)

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        return {"customer_id": self.customer_id, "customer_name": self.customer_name, "channel": self.channel,
                "level": self.level, "invoice_ids": list(self.invoice_ids), "field": self.field,
                "problem": self.problem, "value": self.value, "message": self.message(locale)}


@dataclass
class Handover:
    """Invoices past the stop level: automation is over; a person (the collector) owns them."""

    customer_id: str
    customer_name: str
    collector: str
    level: str
    invoice_ids: tuple[str, ...]
    totals: dict[str, int]
    since: dt.date | None = None

    def to_json(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "customer_name": self.customer_name, "collector": self.collector,
                "level": self.level, "invoice_ids": list(self.invoice_ids), "totals": _fmt_totals(self.totals),
                "since": self.since.isoformat() if self.since else None}


@dataclass
class ReminderItem:
    """One action of the plan: an e-mail to send, a WhatsApp link, a letter to print or a call task."""

    customer_id: str
    customer_name: str
    channel: str  # email, whatsapp, letter, phone
    level: str  # the item's level: the highest among its invoices
    stop: bool  # this level hands the account to a person after it
    invoice_ids: tuple[str, ...]  # the invoices reminded (not the statement)
    invoice_levels: dict[str, str]  # invoice_id -> the level it reaches with this item
    invoice_rows: dict[str, int]  # invoice_id -> its Invoices sheet row (for reminder_level / last_contact)
    statement_invoice_ids: tuple[str, ...]
    language: str
    template: str
    message_id: str
    as_of: dt.date
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    sender_name: str = ""
    sender_email: str = ""
    reply_to: str = ""
    subject: str = ""
    html: str = ""
    text: str = ""
    phone: str = ""
    whatsapp_url: str = ""
    call_notes: str = ""
    letter_pdf: bytes | None = None
    collector: str = ""
    totals: dict[str, int] = field(default_factory=dict)
    max_days_overdue: int = 0
    warnings: list[str] = field(default_factory=list)
    rendered: bool = False
    epc_payload: str = ""  # the EPC QR payload shown in the e-mail (cid:epc-qr@cobro) or printed on the letter
    statement_pdf: bytes | None = None  # the statement of account, when the level attaches it

    def default_outcome(self) -> str:
        """``sent`` for an e-mail; blank (a task prepared for a person) for a call, a letter or a WhatsApp link."""
        return "sent" if self.channel == "email" else ""

    def contact_rows(self, timestamp: dt.datetime, outcome: str | None = None, notes: str = "",
                     user: str = COBRO_USER) -> list[dict[str, Any]]:
        """The Contacts rows recording this item: one per level its invoices reach (usually one), each with
        timestamp, customer_id, invoice_ids, channel, direction ``out``, level, outcome, user, subject, notes and
        message_id. ``outcome`` defaults to ``default_outcome()``; pass ``failed`` with the reason in ``notes``
        when a send failed (a failed row does not count as reached)."""
        outcome = self.default_outcome() if outcome is None else outcome
        if not notes and self.channel == "phone":
            notes = self.call_notes
        by_level: dict[str, list[str]] = {}
        for inv in self.invoice_ids:
            by_level.setdefault(self.invoice_levels.get(inv, self.level), []).append(inv)
        return [{"timestamp": pd.Timestamp(timestamp), "customer_id": self.customer_id,
                 "invoice_ids": tuple(ids), "channel": self.channel, "direction": "out", "level": level,
                 "outcome": outcome, "promise_date": None, "promise_amount": None, "user": user,
                 "subject": self.subject, "notes": notes, "message_id": self.message_id}
                for level, ids in by_level.items()]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (no binary: a letter is described by ``letter: {pdf: true, bytes: N}``)."""
        return {
            "customer_id": self.customer_id, "customer_name": self.customer_name, "channel": self.channel,
            "level": self.level, "stop": self.stop, "invoice_ids": list(self.invoice_ids),
            "invoice_levels": dict(self.invoice_levels), "statement_invoice_ids": list(self.statement_invoice_ids),
            "language": self.language, "template": self.template, "message_id": self.message_id,
            "as_of": self.as_of.isoformat(), "to": list(self.to), "cc": list(self.cc),
            "sender_name": self.sender_name, "sender_email": self.sender_email, "reply_to": self.reply_to,
            "subject": self.subject, "html": self.html, "text": self.text, "phone": self.phone,
            "whatsapp_url": self.whatsapp_url or None, "call_notes": self.call_notes or None,
            "letter": {"pdf": True, "bytes": len(self.letter_pdf)} if self.letter_pdf is not None else None,
            "collector": self.collector, "totals": _fmt_totals(self.totals), "max_days_overdue": self.max_days_overdue,
            "warnings": list(self.warnings), "rendered": self.rendered,
        }


@dataclass
class ReminderPlan:
    """Everything due on ``as_of``. Send nothing unless ``ok``."""

    as_of: dt.date
    working_day: bool = True
    holiday: str | None = None
    next_working_day: dt.date | None = None
    items: list[ReminderItem] = field(default_factory=list)
    fixes: list[ContactFix] = field(default_factory=list)
    handovers: list[Handover] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    errors: list[Problem | TemplateProblem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when anything (a template, a setting) is broken: the caller must refuse to send."""
        return not self.errors

    def contact_rows(self, timestamp: dt.datetime, outcomes: Mapping[str, str] | None = None,
                     user: str = COBRO_USER) -> list[dict[str, Any]]:
        """Contacts rows for every item (``outcomes``: message_id -> outcome, for the ones that differ)."""
        outcomes = outcomes or {}
        rows: list[dict[str, Any]] = []
        for it in self.items:
            rows.extend(it.contact_rows(timestamp, outcomes.get(it.message_id), user=user))
        return rows

    def contacts_frame(self, timestamp: dt.datetime, outcomes: Mapping[str, str] | None = None) -> pd.DataFrame:
        """``contact_rows`` as a typed Contacts frame (ready for ``Changes.append['Contacts']``)."""
        return make_frame(CONTACTS, self.contact_rows(timestamp, outcomes))

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "ok": self.ok, "working_day": self.working_day,
            "holiday": self.holiday,
            "next_working_day": self.next_working_day.isoformat() if self.next_working_day else None,
            "items": [i.to_json() for i in self.items],
            "fixes": [f.to_json(locale) for f in self.fixes],
            "handovers": [h.to_json() for h in self.handovers],
            "skipped": [s.to_json(locale) for s in self.skipped],
            "errors": [e.as_dict(locale) for e in self.errors],
            "warnings": [w.as_dict(locale) for w in self.warnings],
        }


# ----------------------------------------------------------------------------------- reading the log


def _explode(rows: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """One row per (contact row, invoice): listed invoices, or for blank invoice_ids every invoice of the customer
    issued by the contact's day. Keeps the contact's columns plus ``invoice_id``."""
    if rows.empty:
        return rows.assign(invoice_id=pd.Series([], dtype=object), had_ids=pd.Series([], dtype=bool))
    has = rows["invoice_ids"].map(len) > 0
    listed = rows[has].explode("invoice_ids").rename(columns={"invoice_ids": "invoice_id"}).assign(had_ids=True)
    blank = rows[~has].drop(columns=["invoice_ids"]).assign(had_ids=False)
    parts = [listed]
    if len(blank):
        inv = invoices[["invoice_id", "customer_id", "issue_date"]]
        merged = blank.merge(inv, on="customer_id", how="inner")
        merged = merged[merged["issue_date"] <= merged["day"]].drop(columns=["issue_date"])
        parts.append(merged)
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else listed.reset_index(drop=True)
    out["invoice_id"] = out["invoice_id"].astype(str).str.strip()
    return out


_NAT = int(np.iinfo(np.int64).min)  # a missing day, in the epoch-day arrays below


def _epoch_days(values: pd.Series) -> np.ndarray:
    """Dates as whole days since 1970-01-01 (int64; ``_NAT`` for a missing date): cheap to compare in bulk."""
    return pd.to_datetime(values).to_numpy("datetime64[ns]").astype("datetime64[D]").astype("int64")


def _from_epoch(day: int) -> dt.date | None:
    return None if day == _NAT else _EPOCH + dt.timedelta(days=int(day))


_EPOCH = dt.date(1970, 1, 1)


def _per_value(values: pd.Series, f: Callable[[str], Any], dtype: type) -> pd.Series:
    """``values.astype(str).map(f)``, with ``f`` called once per distinct value (a log of 100,000 rows names a few
    levels and users)."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    out = np.array([f(str(u)) for u in uniques], dtype=dtype)
    return pd.Series(out[codes] if len(out) else np.zeros(0, dtype=dtype), index=values.index)


def _levels_reached(all_contacts: pd.DataFrame, upto: pd.Series, invoices: pd.DataFrame,
                    steps: list[Level], warnings: list[Problem]) -> dict[str, tuple[int, int]]:
    """Per invoice: (ladder index reached, epoch day reached or ``_NAT``) — see the module docstring.
    ``upto`` marks the Contacts rows dated on or before the as-of date."""
    by_key = {lv.key.casefold(): lv.index for lv in steps}
    offsets = [lv.days for lv in steps]
    state: dict[str, tuple[int, int]] = {}
    idx_all = _per_value(all_contacts["level"], lambda v: by_key.get(v.strip().casefold(), np.nan), np.float64)
    counts = idx_all.notna() & (all_contacts["direction"] != "in") & ~all_contacts["outcome"].isin(NOT_REACHED_OUTCOMES)
    rows = all_contacts[counts & upto].assign(idx=idx_all[counts & upto])
    if len(rows):
        rows = rows.assign(cobro=_per_value(rows["user"], lambda v: v.strip().casefold() == COBRO_USER, bool))
        ev = _explode(rows[["customer_id", "invoice_ids", "idx", "cobro", "timestamp", "day"]], invoices)
        ev = ev.sort_values(["timestamp", "idx"], kind="stable")
        due = dict(zip(invoices["invoice_id"].tolist(),
                       _epoch_days(invoices["due_date"].fillna(invoices["issue_date"])).tolist(), strict=True))
        for inv, day, idx, cobro, had_ids in zip(ev["invoice_id"].tolist(), _epoch_days(ev["day"]).tolist(),
                                                 ev["idx"].astype("int64").tolist(), ev["cobro"].tolist(),
                                                 ev["had_ids"].tolist(), strict=True):
            if not had_ids:  # a row with blank invoice_ids: only invoices past that level's threshold that day
                d = due.get(inv, _NAT)
                if d == _NAT or d + offsets[idx] > day:
                    continue
            cur = state.get(inv, (-1, _NAT))[0]
            if idx <= cur:
                continue
            state[inv] = (min(idx, cur + 1) if cobro else idx, day)
    # fallback: the invoice's reminder_level column, for invoices the log never mentions with a level
    with_level = invoices[invoices["reminder_level"].astype(str).str.strip() != ""]
    if len(with_level):
        all_rows = all_contacts[counts]
        has = all_rows["invoice_ids"].map(len) > 0
        mentioned = set(all_rows.loc[has, "invoice_ids"].explode().astype(str).str.strip())
        blank_customers = set(all_rows.loc[~has, "customer_id"])
        if blank_customers:
            mentioned |= set(invoices.loc[invoices["customer_id"].isin(blank_customers), "invoice_id"])
        base = _epoch_days(with_level["due_date"].fillna(with_level["issue_date"])).tolist()
        last = _epoch_days(with_level["last_contact"]).tolist()
        for inv, lvl, last_day, base_day, row in zip(with_level["invoice_id"].tolist(),
                                                     with_level["reminder_level"].tolist(), last, base,
                                                     with_level["_row"].tolist(), strict=True):
            if inv in mentioned or inv in state:
                continue
            found = by_key.get(str(lvl).strip().casefold())
            if found is None:
                warnings.append(Problem("Invoices", int(row), "reminder_level", lvl, "setting",
                                        {"what": "the key of a level of the Levels sheet", "expected": "level_key",
                                         "sheet": "Levels"}))
                continue
            day = last_day if last_day != _NAT else (base_day + offsets[found] if base_day != _NAT else _NAT)
            state[inv] = (found, day)
    return state


def reminder_levels(ledger: Ledger, as_of: dt.date) -> dict[str, str]:
    """Per invoice id: the key of the ladder level it has reached by ``as_of`` — the plan's own reading of the
    Contacts log (and of the reminder_level column as fallback), for the derived column of the Invoices sheet."""
    steps = ladder(ledger.levels, [])
    if not steps:
        return {}
    contacts_all = ledger.contacts.assign(day=ledger.contacts["timestamp"].dt.normalize())
    upto = contacts_all["timestamp"].notna() & (contacts_all["day"] <= pd.Timestamp(_as_date(as_of)))
    state = _levels_reached(contacts_all, upto, ledger.invoices, steps, [])
    return {inv: steps[idx].key for inv, (idx, _) in state.items() if idx >= 0}


def _holds(contacts: pd.DataFrame, invoices: pd.DataFrame, plans: pd.DataFrame, as_of: dt.date,
           grace: int) -> tuple[set[str], dict[str, dt.date], dict[str, dt.date], dict[str, dt.date]]:
    """(disputed by the log, promise -> until, paid claim -> until, payment plan -> next installment)."""
    disputed: set[str] = set()
    promise: dict[str, dt.date] = {}
    paid_claim: dict[str, dt.date] = {}
    plan_hold: dict[str, dt.date] = {}
    gdays = dt.timedelta(days=grace)
    rel = contacts[contacts["outcome"].isin(("dispute",) + LIFT_DISPUTE_OUTCOMES)]
    if len(rel):
        ev = _explode(rel[["customer_id", "invoice_ids", "outcome", "timestamp", "day", "promise_date"]], invoices)
        ev = ev.sort_values("timestamp", kind="stable")
        last_dispute = ev[ev["outcome"] == "dispute"].groupby("invoice_id")["timestamp"].max()
        last_lift = ev[ev["outcome"].isin(LIFT_DISPUTE_OUTCOMES)].groupby("invoice_id")["timestamp"].max()
        for inv, ts in last_dispute.items():
            lift = last_lift.get(inv)
            if lift is None or not lift > ts:
                disputed.add(str(inv))
        prom = ev[ev["outcome"] == "promise"].groupby("invoice_id").tail(1)
        for inv, pdate, day in zip(prom["invoice_id"], prom["promise_date"], prom["day"], strict=False):
            until = (_day(pdate) or _day(day)) + gdays  # type: ignore[operator]
            if until >= as_of:
                promise[str(inv)] = until
        paid = ev[ev["outcome"] == "paid"].groupby("invoice_id").tail(1)
        for inv, day in zip(paid["invoice_id"], paid["day"], strict=False):
            until = _day(day) + gdays  # type: ignore[operator]
            if until >= as_of:
                paid_claim[str(inv)] = until
    if len(plans):
        for _pid, g in plans.groupby("plan_id", sort=False):
            status = g["status"].astype(str)
            pending = g[status.isin(("pending", ""))]
            if (status == "missed").any() or pending.empty:
                continue
            dues = [_day(d) for d in pending["due_date"]]
            if any(d is not None and d + gdays < as_of for d in dues):
                continue
            nxt = min((d for d in dues if d is not None), default=as_of)
            ids: set[str] = set()
            for lst in g["invoice_ids"]:
                ids.update(str(i).strip() for i in lst)
            if not ids:
                cust = set(g["customer_id"])
                ids = set(invoices.loc[invoices["customer_id"].isin(cust), "invoice_id"])
            for inv in ids:
                plan_hold[inv] = min(plan_hold.get(inv, nxt), nxt)
    return disputed, promise, paid_claim, plan_hold


def _failures(contacts: pd.DataFrame) -> dict[tuple[str, str], tuple[dt.date, str]]:
    bad = contacts[contacts["outcome"].isin(NOT_REACHED_OUTCOMES) & (contacts["level"] != "")]
    out: dict[tuple[str, str], tuple[dt.date, str]] = {}
    for cust, level, day, notes in zip(bad["customer_id"], bad["level"], bad["day"], bad["notes"], strict=False):
        out[(str(cust), str(level).strip().casefold())] = (_day(day), str(notes))  # type: ignore[assignment]
    return out


# ----------------------------------------------------------------------------------- the plan


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """``df.to_dict("records")``, column by column (much faster on pandas' typed columns); NA becomes None."""
    cols = list(df.columns)
    values = [[None if (v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)) else v
               for v in col.tolist()] for _, col in df.items()]
    return [dict(zip(cols, row, strict=True)) for row in zip(*values, strict=True)]


def _line(rec: Mapping[str, Any]) -> InvoiceLine:
    due = _day(rec["due_date"]) or _day(rec["issue_date"])
    days = rec["days_overdue"]
    return InvoiceLine(
        invoice_id=str(rec["invoice_id"]), currency=str(rec["currency"]), amount=int(rec["amount"]),
        balance=int(rec["balance"]), issue_date=_day(rec["issue_date"]), due_date=due,
        days_overdue=0 if days is None or days is pd.NA else int(days),
        reference=str(rec.get("reference", "") or ""), description=str(rec.get("description", "") or ""))


def _sort_key(ln: InvoiceLine) -> tuple[dt.date, str]:
    return (ln.due_date or dt.date.min, ln.invoice_id)


@dataclass
class _Pending:
    """An item waiting to be rendered, with what its template needs."""

    item: ReminderItem
    lines: list[InvoiceLine]
    statement: list[InvoiceLine]
    customer: dict[str, Any]


Entry = tuple[dict[str, Any], int]  # an invoice record and the ladder index it reaches now
# what the plan reads of an open invoice's record (``_line``, holds, judgement, items): converting only these
# columns to records is most of the cost of asking about a large ledger
_CAND_KEYS = ("invoice_id", "customer_id", "currency", "amount", "balance", "issue_date", "due_date", "days_overdue",
              "reference", "description", "status", "_row")
Handed = tuple[dict[str, Any], int, "dt.date | None"]  # an invoice past the stop level, its index, since when


@dataclass
class _Context:
    """What every step of the plan reads: the settings and ladder, the balances and the log's verdicts as of the
    date (built once by ``_context``)."""

    ledger: Ledger
    as_of: dt.date
    settings: Settings
    lang: str
    steps: list[Level]
    stop_idx: int | None
    open_b: pd.DataFrame  # open items: balance != 0, not cancelled or written off (credit notes included)
    cand: pd.DataFrame  # the open invoices a reminder can be about: positive balance, open or disputed
    state: dict[str, tuple[int, int]]  # invoice -> (ladder index reached, epoch day reached)
    disputed_log: set[str]
    promise: dict[str, dt.date]
    paid_claim: dict[str, dt.date]
    plan_hold: dict[str, dt.date]
    failures: dict[tuple[str, str], tuple[dt.date, str]]
    customers: dict[str, dict[str, Any]]
    _cand_records: list[dict[str, Any]] | None = None

    def customer(self, cid: str) -> dict[str, Any]:
        return self.customers.get(cid, {"customer_id": cid, "name": cid})

    def cand_records(self) -> list[dict[str, Any]]:
        """``cand`` as records (aligned with it) of the columns the plan reads, made once: the due, the handed over
        and the outlook read them."""
        if self._cand_records is None:
            self._cand_records = _records(self.cand[[k for k in _CAND_KEYS if k in self.cand.columns]])
        return self._cand_records


@dataclass
class _Positions:
    """Where each invoice of ``_Context.cand`` stands on the ladder (arrays aligned with ``cand``)."""

    cur: np.ndarray  # ladder index reached (-1: none)
    cur_day: np.ndarray  # epoch day it was reached (``_NAT``: unknown)
    nxt: np.ndarray  # index of the next level
    when: np.ndarray  # epoch day the next level falls due (``_NAT``: no next level)
    due: np.ndarray  # the next level is due today
    handed: np.ndarray  # past the stop level: a person owns it


def _closed_today(ledger: Ledger, as_of: dt.date, plan: ReminderPlan) -> bool:
    """Step 1, the calendar: True (and the plan says why) when nothing may go out on ``as_of``."""
    settings = ledger.settings
    if not settings.business_days_only:
        return False
    try:
        if is_workday(as_of, settings.country):
            return False
        plan.working_day = False
        plan.holiday = holiday_name(as_of, settings.country, settings.locale)
        plan.next_working_day = next_workday(as_of, settings.country, include_today=False)
    except WorkdaysError as e:
        plan.errors.append(Problem("Settings", ledger.settings_rows.get("country", 0), "value", settings.country,
                                   "setting", {"what": str(e)}))
    return True


def _context(ledger: Ledger, as_of: dt.date, steps: list[Level], warnings: list[Problem]) -> _Context:
    """Step 3: balances and the Contacts log as of the date."""
    settings = ledger.settings
    b = invoice_balances(ledger, as_of)
    ts = pd.Timestamp(as_of)
    contacts_all = ledger.contacts.assign(day=ledger.contacts["timestamp"].dt.normalize())
    upto = contacts_all["timestamp"].notna() & (contacts_all["day"] <= ts)
    contacts = contacts_all[upto]
    invoices = ledger.invoices
    state = _levels_reached(contacts_all, upto, invoices, steps, warnings)
    disputed_log, promise, paid_claim, plan_hold = _holds(contacts, invoices, ledger.plans, as_of,
                                                          settings.promise_grace_days)
    customers: dict[str, dict[str, Any]] = {}
    for rec in _records(ledger.customers):
        customers.setdefault(str(rec["customer_id"]), rec)
    open_b = b[(b["balance"] != 0) & ~b["status"].isin(("cancelled", "written_off"))]
    cand = open_b[(open_b["balance"] > 0) & open_b["status"].isin(("open", "disputed"))]
    return _Context(ledger, as_of, settings, settings.locale, steps,
                    next((lv.index for lv in steps if lv.stop), None), open_b, cand, state, disputed_log, promise,
                    paid_claim, plan_hold, _failures(contacts), customers)


def _positions(ctx: _Context) -> _Positions:
    """Step 4, in bulk: per open invoice, the level reached, the next level and the day it falls due.

    The next level falls due at its threshold (due date + offset), and never before ``offset(next) -
    offset(reached)`` days after the day the current level was reached, nor on that same day.
    """
    steps, cand = ctx.steps, ctx.cand
    offsets = np.array([lv.days for lv in steps], dtype=np.int64)
    n = len(steps)
    reached = [ctx.state.get(i, (-1, _NAT)) for i in cand["invoice_id"].tolist()]
    cur = np.array([r[0] for r in reached], dtype=np.intp)
    cur_day = np.array([r[1] for r in reached], dtype=np.int64)
    base = _epoch_days(cand["due_date"].fillna(cand["issue_date"]))
    nxt = np.minimum(cur + 1, n - 1)
    handed = cur >= ctx.stop_idx if ctx.stop_idx is not None else np.zeros(len(cand), dtype=bool)
    known = cur_day != _NAT
    day0 = np.where(known, cur_day, 0)
    gap = offsets[nxt] - offsets[np.maximum(cur, 0)]
    has_next = ~handed & (cur + 1 < n) & (base != _NAT)
    threshold = np.where(base != _NAT, base, 0) + offsets[nxt]
    after = np.where((cur >= 0) & known, np.maximum(day0 + gap, day0 + 1), threshold)
    when = np.where(has_next, np.maximum(threshold, after), _NAT)
    due = has_next & ((ctx.as_of - _EPOCH).days >= when)
    return _Positions(cur, cur_day, nxt, when, due, handed)


def _due_and_handed(ctx: _Context, pos: _Positions) -> tuple[dict[str, list[Entry]], dict[str, list[Handed]]]:
    """Per customer: the invoices due a level now (with that level), and those handed over to a person."""
    recs = ctx.cand_records()
    due_now: dict[str, list[Entry]] = {}
    for i, k in zip(np.flatnonzero(pos.due).tolist(), (pos.cur[pos.due] + 1).tolist(), strict=True):
        rec = recs[i]
        due_now.setdefault(str(rec["customer_id"]), []).append((rec, k))
    handed: dict[str, list[Handed]] = {}
    for rec, idx, day in zip([recs[i] for i in np.flatnonzero(pos.handed).tolist()], pos.cur[pos.handed].tolist(),
                             pos.cur_day[pos.handed].tolist(), strict=True):
        if rec["status"] == "open" and str(rec["invoice_id"]) not in ctx.disputed_log:
            handed.setdefault(str(rec["customer_id"]), []).append((rec, idx, _from_epoch(day)))
    return due_now, handed


def _hold(ctx: _Context, rec: Mapping[str, Any]) -> tuple[str, dt.date | None] | None:
    """Why an invoice due a level is held back (dispute, promise, paid claim, payment plan), or None."""
    inv = str(rec["invoice_id"])
    if rec["status"] == "disputed" or inv in ctx.disputed_log:
        return "dispute", None
    if inv in ctx.promise:
        return "promise", ctx.promise[inv]
    if inv in ctx.paid_claim:
        return "paid_claim", ctx.paid_claim[inv]
    if inv in ctx.plan_hold:
        return "plan", ctx.plan_hold[inv]
    return None


def _apply_holds(ctx: _Context, cid: str, name: str, entries: list[Entry], plan: ReminderPlan) -> list[Entry]:
    """Step 5a: the invoices not held back; the held ones go to ``plan.skipped`` by reason."""
    held: dict[str, list[str]] = {}
    until: dict[str, dt.date] = {}
    keep: list[Entry] = []
    for rec, k in entries:
        why = _hold(ctx, rec)
        if why is None:
            keep.append((rec, k))
            continue
        reason, u = why
        held.setdefault(reason, []).append(str(rec["invoice_id"]))
        if u is not None:
            until[reason] = max(until.get(reason, u), u)
    for reason, ids in held.items():
        plan.skipped.append(Skip(cid, name, reason, tuple(ids), until.get(reason)))
    return keep


def is_formal(level: Level) -> bool:
    """A formal level — a letter, or the final (stop) level — needs a higher amount (``min_formal_amounts``)."""
    return level.channel == "letter" or level.stop


def minimum_amount(settings: Settings, currency: str) -> int:
    """The smallest total (minor units) worth a reminder, call or letter in ``currency``: ``min_reminder_amount``
    for the base currency when set, else ``min_reminder_amounts`` (0: no minimum)."""
    if currency == settings.base_currency and settings.min_reminder_amount > 0:
        return settings.min_reminder_amount
    return int(settings.min_reminder_amounts.get(currency, 0))


def is_write_off(settings: Settings, balance: int, currency: str) -> bool:
    """True for a residual at or below the write-off tolerance of its currency: written off or claimed with the
    next invoice, never chased on its own."""
    return 0 < balance <= int(settings.write_off_tolerance.get(currency, 0))


def _money_detail(pairs: list[tuple[str, int, str]], lang: str) -> str:
    return "; ".join(f"{iid}: {money.format_money(v, c, lang)}" for iid, v, c in pairs)


def _judge_amounts(ctx: _Context, cid: str, name: str, keep: list[Entry], credit: Mapping[tuple[str, str], int],
                   plan: ReminderPlan) -> list[Entry]:
    """Step 5b, judgement: what a credit controller would not chase goes to ``plan.skipped`` with the reason —
    residuals within the write-off tolerance, amounts the customer's credits cover, totals below the minimum
    of their currency, and formal levels (letter, final) below their higher minimum."""
    settings, lang, steps = ctx.settings, ctx.lang, ctx.steps
    small = [(r, k) for r, k in keep if is_write_off(settings, int(r["balance"]), str(r["currency"]))]
    if small:
        for cur in sorted({str(r["currency"]) for r, _ in small}):
            rs = [r for r, _ in small if r["currency"] == cur]
            plan.skipped.append(Skip(cid, name, "write_off", tuple(str(r["invoice_id"]) for r in rs), None,
                                     _money_detail([(str(r["invoice_id"]), int(r["balance"]), cur) for r in rs],
                                                   lang)))
        gone = {id(r) for r, _ in small}
        keep = [(r, k) for r, k in keep if id(r) not in gone]
    for cur in sorted({str(r["currency"]) for r, _ in keep}):
        mine = [(r, k) for r, k in keep if r["currency"] == cur]
        owed = sum(int(r["balance"]) for r, _ in mine)
        available = credit.get((cid, cur), 0)
        if available and owed <= available:  # the customer owes nothing net: no reminder for it
            detail = f"{money.format_money(owed, cur, lang)} ≤ {money.format_money(available, cur, lang)}"
            plan.skipped.append(Skip(cid, name, "covered_by_credit", tuple(str(r["invoice_id"]) for r, _ in mine),
                                     None, detail))
            keep = [(r, k) for r, k in keep if r["currency"] != cur]
    # Each message, call or letter must be worth it on its own: per channel (one item each) and currency. Every
    # message nets all the customer's credits in its amount to pay, so one that credits cover asks for nothing.
    dropped: set[int] = set()
    for _channel, group in _by_channel(steps, keep):
        for cur in sorted({str(r["currency"]) for r, _ in group}):
            mine = [(r, k) for r, k in group if r["currency"] == cur]
            available = credit.get((cid, cur), 0)
            owed = sum(int(r["balance"]) for r, _ in mine)
            if available and owed <= available:
                detail = f"{money.format_money(owed, cur, lang)} ≤ {money.format_money(available, cur, lang)}"
                plan.skipped.append(Skip(cid, name, "covered_by_credit",
                                         tuple(str(r["invoice_id"]) for r, _ in mine), None, detail))
                dropped.update(id(r) for r, _ in mine)
                continue
            minimum, f_min = minimum_amount(settings, cur), int(settings.min_formal_amounts.get(cur, 0))
            formal = [(r, k) for r, k in mine if is_formal(steps[k])]
            f_owed = sum(int(r["balance"]) for r, _ in formal) - available
            if formal and f_owed < f_min and sum(int(r["balance"]) for r, _ in mine) >= minimum:
                _skip_amounts(plan, cid, name, "below_formal_minimum", formal, f_owed, f_min, cur, lang)
                dropped.update(id(r) for r, _ in formal)
                mine = [(r, k) for r, k in mine if not is_formal(steps[k])]
            owed = sum(int(r["balance"]) for r, _ in mine) - available  # the amount the message asks for
            if mine and owed < minimum:
                _skip_amounts(plan, cid, name, "below_minimum", mine, owed, minimum, cur, lang)
                dropped.update(id(r) for r, _ in mine)
    return [(r, k) for r, k in keep if id(r) not in dropped]


def _skip_amounts(plan: ReminderPlan, cid: str, name: str, reason: str, entries: list[Entry], owed: int,
                  limit: int, cur: str, lang: str) -> None:
    detail = f"{money.format_money(owed, cur, lang)} < {money.format_money(limit, cur, lang)}"
    plan.skipped.append(Skip(cid, name, reason, tuple(str(r["invoice_id"]) for r, _ in entries), None, detail))


@dataclass
class _Decision:
    """What the plan decided, before anything is rendered."""

    ctx: _Context
    pos: _Positions
    due_now: dict[str, list[Entry]]  # due a level today, before holds and judgement
    kept: dict[str, list[Entry]]  # what goes out today, per customer
    pending: list[_Pending]  # the items (when asked for)


def _decide(ledger: Ledger, as_of: dt.date, steps: list[Level], plan: ReminderPlan, items: bool = True
            ) -> _Decision:
    """Steps 3 to 5 without rendering: the state as of the date and, per customer, the invoices that go out today
    after holds and judgement, made into items when ``items`` — the one decision that the plan, the next steps
    and the worklist share."""
    ctx = _context(ledger, as_of, steps, plan.warnings)
    pos = _positions(ctx)
    due_now, handed = _due_and_handed(ctx, pos)
    credit = _open_credit(ledger, ctx.open_b, as_of, set(due_now))
    by_customer: dict[str, list[dict[str, Any]]] = {}
    if items:
        for rec in _records(ctx.open_b[ctx.open_b["customer_id"].isin(set(due_now))]):
            by_customer.setdefault(str(rec["customer_id"]), []).append(rec)
    kept: dict[str, list[Entry]] = {}
    pending: list[_Pending] = []
    for cid in sorted(due_now):
        cust = ctx.customer(cid)
        name = str(cust.get("name", "") or "")
        status = str(cust.get("status", "") or "active")
        if status in HELD_CUSTOMER_STATUSES:
            plan.skipped.append(Skip(cid, name, status, tuple(str(r["invoice_id"]) for r, _ in due_now[cid])))
            continue
        keep = _judge_amounts(ctx, cid, name, _apply_holds(ctx, cid, name, due_now[cid], plan), credit, plan)
        if not keep:
            continue
        kept[cid] = keep
        if items:
            pending.extend(_customer_items(ctx, cid, keep, by_customer.get(cid, []), plan))
    _handovers(ctx, handed, plan)
    return _Decision(ctx, pos, due_now, kept, pending)


def _by_channel(steps: list[Level], keep: list[Entry]) -> list[tuple[str, list[Entry]]]:
    """One group per channel, lowest top level first."""
    groups: dict[str, list[Entry]] = {}
    for rec, k in keep:
        groups.setdefault(steps[k].channel, []).append((rec, k))
    return sorted(groups.items(), key=lambda g: max(k for _, k in g[1]))


def _customer_items(ctx: _Context, cid: str, keep: list[Entry], open_recs: list[dict[str, Any]],
                    plan: ReminderPlan) -> list[_Pending]:
    """Step 5c: one item per channel (or a contact-data fix), with the previous failure at its level noted."""
    cust = ctx.customer(cid)
    out: list[_Pending] = []
    for channel, group in _by_channel(ctx.steps, keep):
        pending = _make_item(cid, cust, channel, group, open_recs, ctx.disputed_log, ctx.steps, ctx.settings,
                             ctx.as_of, plan)
        if pending is None:
            continue
        pending.statement.extend(_advance_lines(ctx, cid, pending.item.language))
        item = pending.item
        fail = ctx.failures.get((cid, item.level.casefold()))
        if fail:
            item.warnings.append(f"the previous attempt at level {item.level} failed on {fail[0].isoformat()}"
                                 + (f": {fail[1]}" if fail[1] else ""))
        plan.items.append(item)
        out.append(pending)
    return out


def _advance_lines(ctx: _Context, cid: str, language: str) -> list[InvoiceLine]:
    """The customer's payments on account as lines of its statement (issue 13: credits are credits): a negative
    balance, shown by the default texts as an amount in the customer's favour and netted in the totals."""
    by_customer = getattr(ctx, "_advances_by_customer", None)
    if by_customer is None:
        adv = advances(ctx.ledger, ctx.as_of)
        adv = adv[adv["amount"] > 0]
        by_customer = {}
        for rec in _records(adv):
            by_customer.setdefault(str(rec["customer_id"]), []).append(rec)
        ctx._advances_by_customer = by_customer  # type: ignore[attr-defined]
    label = "Pago a cuenta" if language == "es" else "Payment on account"
    out = []
    for rec in by_customer.get(cid, []):
        day = _day(rec["date"])
        amt = int(rec["amount"])
        cur = str(rec.get("currency") or "") or ctx.settings.base_currency
        out.append(InvoiceLine(str(rec.get("payment_id") or "") or label, cur, -amt, -amt, day, day, 0,
                               str(rec.get("reference") or ""), label))
    return out


def _handovers(ctx: _Context, handed: dict[str, list[Handed]], plan: ReminderPlan) -> None:
    """The accounts past the stop level, for their collector (held customers excepted)."""
    for cid in sorted(handed):
        cust = ctx.customer(cid)
        if str(cust.get("status", "") or "active") in HELD_CUSTOMER_STATUSES:
            continue
        lst = handed[cid]
        top = max(i for _, i, _ in lst)
        since = max((d for _, i, d in lst if i == top and d is not None), default=None)
        plan.handovers.append(Handover(
            cid, str(cust.get("name", "") or ""), str(cust.get("collector", "") or ""), ctx.steps[top].key,
            tuple(str(r["invoice_id"]) for r, _, _ in lst),
            money.sum_by_currency([(str(r["currency"]), int(r["balance"])) for r, _, _ in lst]), since))


def _check_sender(ledger: Ledger, plan: ReminderPlan) -> None:
    """Step 6: the sender's own addresses must be sound before any e-mail goes out."""
    if not any(i.channel == "email" for i in plan.items):
        return
    settings = ledger.settings
    for key, value in (("sender_email", settings.sender_email), ("reply_to", settings.reply_to)):
        if value.strip() and not is_valid_email(value):
            plan.errors.append(Problem("Settings", ledger.settings_rows.get(key, 0), "value", value, "setting",
                                       {"what": f"{key}: one e-mail address such as cobros@empresa.es",
                                        "expected": "setting.email", "key": key}))


def plan_reminders(ledger: Ledger, as_of: dt.date) -> ReminderPlan:
    """The reminders due on ``as_of`` (a calendar date in the company's time zone). Pure and deterministic.

    See the module docstring for the rules. The result lists the actions (``items``), the contact data to fix
    (``fixes``), the accounts handed to a person (``handovers``), what was due but is held back (``skipped``, with
    reasons) and any ``errors`` (broken templates or settings) — with errors, nothing may be sent.
    """
    as_of = _as_date(as_of)
    plan = ReminderPlan(as_of=as_of)
    if _closed_today(ledger, as_of, plan):  # 1. the calendar
        return plan
    # 2. the ladder and the templates: problems here stop everything
    ladder_problems: list[Problem] = []
    steps = ladder(ledger.levels, ladder_problems)
    plan.errors.extend(ladder_problems)
    if not steps:
        return plan
    templates = TemplateSet(ledger.templates, ledger.settings.locale)
    plan.errors.extend(check_template_set(templates, ledger))
    # 3.–5. the state as of the date, what is due, holds, judgement and one item per customer and channel
    decision = _decide(ledger, as_of, steps, plan)
    _check_sender(ledger, plan)  # 6.
    if plan.errors:  # 7. render (only when every template and setting is sound)
        return plan
    for pending in decision.pending:
        _render_item(pending, templates, ledger.settings, plan)
    attach_statements(ledger, plan)
    return plan


# ----------------------------------------------------------------------------------- what next


_NEXT_KINDS = frozenset({"today", "due", "level", "handover", "end"})  # the planner's own steps (next.<kind>)


@dataclass(frozen=True)
class NextStep:
    """What happens next for a customer, and when: the planner's own answer, so that ``remind --dry-run``, the
    worklist and the page tell one story.

    ``kind``: ``today`` (an item of today's plan), ``due`` (due now, but today is not a working day: it goes out
    on ``date``), ``level`` (``level`` falls due on ``date``), ``handover`` (past
    the stop level: the collector follows up), ``end`` (the ladder ended without a stop level), or why nothing is
    chased — a ``Skip`` reason: ``write_off``, ``below_minimum``, ``below_formal_minimum``, ``covered_by_credit``,
    ``dispute``, ``promise``, ``paid_claim``, ``plan``, ``paused``, ``legal``, ``closed`` (with ``date`` = the day
    after a hold ends when it has one)."""

    customer_id: str
    customer_name: str
    kind: str
    level: str = ""
    channel: str = ""
    date: dt.date | None = None
    invoice_ids: tuple[str, ...] = ()
    detail: str = ""
    collector: str = ""

    def message(self, locale: str = "en") -> str:
        """One line for a person: ``next: r1 (email) on 9 Dec 2026`` / ``siguiente: r1 (email) el 09/12/2026``."""
        if self.kind in _NEXT_KINDS:
            who = self.collector or i18n.text("next.nobody", locale)
            return i18n.text(f"next.{self.kind}", locale, level=self.level, channel=self.channel,
                             date=format_date(self.date, i18n.language(locale)), who=who)
        until = self.date - dt.timedelta(days=1) if self.date else None
        return Skip(self.customer_id, self.customer_name, self.kind, self.invoice_ids, until, self.detail).message(
            locale)

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        return {"customer_id": self.customer_id, "customer_name": self.customer_name, "kind": self.kind,
                "level": self.level, "channel": self.channel, "date": self.date.isoformat() if self.date else None,
                "invoice_ids": list(self.invoice_ids), "detail": self.detail, "collector": self.collector,
                "message": self.message(locale)}


def next_steps(ledger: Ledger, as_of: dt.date, include_today: bool = False,
               customers: set[str] | None = None) -> list[NextStep]:
    """For each customer with open invoices and nothing due today, the next step and its date (by customer id).

    This is what ``cobro remind --dry-run`` and the page print under today's plan: e.g. ``next: final (email) on
    14 Dec 2026`` after a letter (the gap after it is respected), ``write off or claim with the next invoice
    (F-1: 0,01 EUR)``, ``promise to pay until …``. The same decision as ``plan_reminders`` (holds, judgement, the
    ladder's gaps), without rendering anything. ``include_today``: also the customers of today's plan
    (``kind="today"``). ``customers``: only these (the ledger is cut down to them first: cheap for a few)."""
    out = _outlook(ledger, _as_date(as_of), customers)
    return [s for _, s in sorted(out.items()) if include_today or s.kind != "today"]


def _outlook(ledger: Ledger, as_of: dt.date, customers: set[str] | None = None) -> dict[str, NextStep]:
    """``next_steps`` as customer_id -> NextStep (today's included), for ``customers`` (None: all; a few: the
    ledger is cut down to them first, so asking about ten customers of a large ledger costs little)."""
    steps = ladder(ledger.levels, [])
    if not steps or customers == set():
        return {}
    if customers is not None:
        ledger = _only_customers(ledger, customers)
    plan = ReminderPlan(as_of=as_of)
    d = _decide(ledger, as_of, steps, plan, items=False)
    ctx, pos = d.ctx, d.pos
    out: dict[str, NextStep] = {}
    first_day = _next_working_day(ctx, as_of)  # on a weekend or holiday, what is due goes out next working day
    for cid, keep in d.kept.items():
        top = max(k for _, k in keep)
        out[cid] = NextStep(cid, str(ctx.customer(cid).get("name", "") or ""),
                            "today" if first_day == as_of else "due", steps[top].key, steps[top].channel,
                            first_day, tuple(sorted(str(r["invoice_id"]) for r, _ in keep)))
    skipped: dict[str, Skip] = {}
    for s in plan.skipped:
        skipped.setdefault(s.customer_id, s)
    recs = ctx.cand_records()
    rows_of: dict[str, list[int]] = {}
    for i, rec in enumerate(recs):
        cid = str(rec["customer_id"])
        if cid not in out and (customers is None or cid in customers):
            rows_of.setdefault(cid, []).append(i)
    when, nxt, handed = pos.when.tolist(), pos.nxt.tolist(), pos.handed.tolist()
    cur = pos.cur.tolist()
    for cid, rows in rows_of.items():
        out[cid] = _customer_outlook(ctx, cid, [(recs[i], when[i], nxt[i], handed[i], cur[i]) for i in rows],
                                     skipped.get(cid))
    return out


def _only_customers(ledger: Ledger, customers: set[str]) -> Ledger:
    """The ledger restricted to ``customers``: their invoices, contacts and plans, and the payments that are theirs
    or pay one of their invoices (whatever customer the payment row names)."""
    inv = ledger.invoices[ledger.invoices["customer_id"].isin(customers)]
    pay = ledger.payments
    pay = pay[pay["customer_id"].isin(customers) | pay["invoice_id"].isin(set(inv["invoice_id"].tolist()))]
    return ledger.replace(
        customers=ledger.customers[ledger.customers["customer_id"].isin(customers)], invoices=inv, payments=pay,
        contacts=ledger.contacts[ledger.contacts["customer_id"].isin(customers)],
        plans=ledger.plans[ledger.plans["customer_id"].isin(customers)] if len(ledger.plans) else ledger.plans)


def _customer_outlook(ctx: _Context, cid: str, rows: list[tuple[dict[str, Any], int, int, bool, int]],
                      skip: Skip | None) -> NextStep:
    """The next step of one customer with nothing going out today (see ``NextStep``)."""
    cust = ctx.customer(cid)
    name, collector = str(cust.get("name", "") or ""), str(cust.get("collector", "") or "")
    settings, steps, lang = ctx.settings, ctx.steps, ctx.lang
    status = str(cust.get("status", "") or "active")
    if status in HELD_CUSTOMER_STATUSES:
        return NextStep(cid, name, status, invoice_ids=tuple(str(r["invoice_id"]) for r, *_ in rows))
    live = [x for x in rows if not is_write_off(settings, int(x[0]["balance"]), str(x[0]["currency"]))]
    totals: dict[str, int] = {}
    for rec, *_ in live:
        totals[str(rec["currency"])] = totals.get(str(rec["currency"]), 0) + int(rec["balance"])
    future: list[tuple[dt.date, int, dict[str, Any]]] = []
    below: list[tuple[str, dict[str, Any]]] = []
    for rec, day, k, handed, _cur in live:
        cur = str(rec["currency"])
        if handed or day == _NAT:
            continue
        if totals[cur] < minimum_amount(settings, cur):
            below.append(("below_minimum", rec))
            continue
        if is_formal(steps[k]) and totals[cur] < int(settings.min_formal_amounts.get(cur, 0)):
            below.append(("below_formal_minimum", rec))
            continue
        date = _from_epoch(day) or ctx.as_of
        why = _hold(ctx, rec)
        if why is not None:
            if why[1] is None:
                continue  # a dispute: no date until someone resolves it
            date = max(date, why[1] + dt.timedelta(days=1))
        if date <= ctx.as_of:
            continue  # due today but held back: the skip below says why
        future.append((_next_working_day(ctx, date), k, rec))
    if future:
        first = min(d for d, _, _ in future)
        group = [(k, r) for d, k, r in future if d == first]
        top = max(k for k, _ in group)
        return NextStep(cid, name, "level", steps[top].key, steps[top].channel, first,
                        tuple(sorted(str(r["invoice_id"]) for _, r in group)), collector=collector)
    if skip is not None:
        until = skip.until + dt.timedelta(days=1) if skip.until else None
        return NextStep(cid, name, skip.reason, date=until, invoice_ids=skip.invoice_ids, detail=skip.detail,
                        collector=collector)
    if below:
        reason = below[0][0]
        ids = tuple(str(r["invoice_id"]) for why, r in below if why == reason)
        cur = str(below[0][1]["currency"])
        limit = minimum_amount(settings, cur) if reason == "below_minimum" else int(
            settings.min_formal_amounts.get(cur, 0))
        detail = f"{money.format_money(totals[cur], cur, lang)} < {money.format_money(limit, cur, lang)}"
        return NextStep(cid, name, reason, invoice_ids=ids, detail=detail, collector=collector)
    handed_rows = [(r, c) for r, _, _, h, c in rows if h]
    if handed_rows:
        top = max(c for _, c in handed_rows)
        return NextStep(cid, name, "handover", steps[top].key, steps[top].channel,
                        invoice_ids=tuple(str(r["invoice_id"]) for r, _ in handed_rows), collector=collector)
    small = [r for r, *_ in rows if is_write_off(settings, int(r["balance"]), str(r["currency"]))]
    if small:
        return NextStep(cid, name, "write_off", invoice_ids=tuple(str(r["invoice_id"]) for r in small),
                        detail=_money_detail([(str(r["invoice_id"]), int(r["balance"]), str(r["currency"]))
                                              for r in small], lang), collector=collector)
    return NextStep(cid, name, "end", invoice_ids=tuple(str(r["invoice_id"]) for r, *_ in rows), collector=collector)


def _next_working_day(ctx: _Context, day: dt.date) -> dt.date:
    """With ``business_days_only``, the plan catches up on the next working day."""
    if not ctx.settings.business_days_only:
        return day
    try:
        return next_workday(day, ctx.settings.country)
    except WorkdaysError:
        return day


def _open_credit(ledger: Ledger, open_b: pd.DataFrame, as_of: dt.date, customers: set[str]
                 ) -> dict[tuple[str, str], int]:
    """Per (customer, currency): open credit notes (as positive amounts) plus payments on account."""
    out: dict[tuple[str, str], int] = {}
    bal = open_b["balance"].to_numpy(dtype=np.int64)
    neg = np.flatnonzero(bal < 0)  # a few rows: summed one by one (a groupby costs more than they do)
    notes = zip(open_b["customer_id"].to_numpy(dtype=object)[neg].tolist(),
                open_b["currency"].to_numpy(dtype=object)[neg].tolist(), (-bal[neg]).tolist(), strict=True)
    adv = advances(ledger, as_of)
    paid = zip(adv["customer_id"].tolist(), adv["currency"].tolist(), adv["amount"].tolist(), strict=True)
    for cid, cur, amount in chain(notes, paid):
        if cid in customers:
            key = (str(cid), str(cur))
            out[key] = out.get(key, 0) + int(amount)
    return out


def _make_item(cid: str, cust: Mapping[str, Any], channel: str, group: list[tuple[dict[str, Any], int]],
               open_recs: list[dict[str, Any]], disputed_log: set[str], steps: list[Level], settings: Settings,
               as_of: dt.date, plan: ReminderPlan) -> _Pending | None:
    name = str(cust.get("name", "") or "")
    top = max(k for _, k in group)
    level = steps[top]
    lines = sorted((_line(r) for r, _ in group), key=_sort_key)
    ids = tuple(ln.invoice_id for ln in lines)
    warnings: list[str] = []
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    phone = str(cust.get("phone", "") or "").strip()
    if channel == "email":
        emails = [str(e).strip() for e in (cust.get("email") or ())]
        to = tuple(dict.fromkeys(e for e in emails if is_valid_email(e)))
        bad = [e for e in emails if not is_valid_email(e)]
        if not to:
            problem = "invalid_email" if bad else "no_email"
            plan.fixes.append(ContactFix(cid, name, channel, level.key, ids, "email", problem, "; ".join(bad)))
            plan.skipped.append(Skip(cid, name, "no_address", ids, None, "email"))
            return None
        if bad:
            warnings.append("ignored invalid e-mail address(es): " + "; ".join(bad))
        ccs = [str(e).strip() for e in (cust.get("cc") or ())]
        cc = tuple(dict.fromkeys(e for e in ccs if is_valid_email(e) and e not in to))
        if any(not is_valid_email(e) for e in ccs):
            warnings.append("ignored invalid CC address(es): " + "; ".join(e for e in ccs if not is_valid_email(e)))
    elif channel == "whatsapp":
        if whatsapp_number(phone, settings.country) is None:
            problem = "invalid_phone" if phone else "no_phone"
            plan.fixes.append(ContactFix(cid, name, channel, level.key, ids, "phone", problem, phone))
            plan.skipped.append(Skip(cid, name, "no_address", ids, None, "phone"))
            return None
    elif channel == "phone" and not phone:
        warnings.append("no phone number in Customers")
    statement = [_line(r) for r in open_recs
                 if str(r["invoice_id"]) not in ids and r["status"] == "open"
                 and str(r["invoice_id"]) not in disputed_log]
    statement.sort(key=_sort_key)
    totals = money.sum_by_currency([(ln.currency, ln.balance) for ln in lines])
    item = ReminderItem(
        customer_id=cid, customer_name=name, channel=channel, level=level.key, stop=level.stop, invoice_ids=ids,
        invoice_levels={str(r["invoice_id"]): steps[k].key for r, k in group},
        invoice_rows={str(r["invoice_id"]): int(r["_row"]) for r, _ in group},
        statement_invoice_ids=tuple(ln.invoice_id for ln in statement),
        language=str(cust.get("language", "") or "") or settings.locale, template=level.template,
        message_id=message_id(cid, level.key, as_of, settings.sender_email), as_of=as_of, to=to, cc=cc,
        sender_name=one_line(settings.sender_name or settings.company_name), sender_email=settings.sender_email.strip(),
        reply_to=settings.reply_to.strip(), phone=phone, collector=str(cust.get("collector", "") or ""),
        totals={c: totals[c] for c in sorted(totals, key=lambda c: (c != settings.base_currency, c))},
        max_days_overdue=max(ln.days_overdue for ln in lines), warnings=warnings)
    return _Pending(item, lines, statement, dict(cust))


def _render_item(pending: _Pending, templates: TemplateSet, settings: Settings, plan: ReminderPlan) -> None:
    item = pending.item
    src = templates.pick(item.template, item.language)
    lang = item.language = src.language if src is not None else item.language
    rendered: Rendered | None = None
    if src is not None:
        ctx = template_context(customer=pending.customer, settings=settings, as_of=item.as_of, level=item.level,
                               invoices=pending.lines, other_invoices=pending.statement, language=lang)
        try:
            rendered = templates.render(item.template, lang, ctx)
        except TemplateRenderError as e:
            plan.errors.append(e.problem)
            return
        item.subject = header_value(one_line(rendered.subject), "subject")
        item.html = rendered.html
        item.text = rendered.text
    if item.channel == "phone":
        if rendered is None:
            la = i18n.language(lang)
            total = " + ".join(money.format_money(v, c, la) for c, v in item.totals.items())
            item.subject = one_line(i18n.text("call.subject", la, name=item.customer_name))
            item.call_notes = i18n.text("call.notes", la, name=item.customer_name,
                                        phone=f" ({item.phone})" if item.phone else "", n=len(item.invoice_ids),
                                        ids=", ".join(item.invoice_ids), total=total, days=item.max_days_overdue)
            item.text = item.call_notes + "\n"
        else:
            item.call_notes = item.text
    elif item.channel == "whatsapp":
        number = whatsapp_number(item.phone, settings.country)
        item.whatsapp_url = f"https://wa.me/{number}?text={urllib.parse.quote(item.text.strip(), safe='')}"
    elif item.channel == "letter" and rendered is not None:
        pay = payment_for(settings, pending.customer, pending.lines, pending.statement, lang)
        item.epc_payload = pay.epc if pay is not None and pay.epc and qr_available() else ""
        item.letter_pdf = render_letter(rendered.blocks, title=item.subject,
                                        author=settings.company_name, language=lang,
                                        payment_qr=item.epc_payload or None,
                                        company=company_from_settings(settings))
    if item.channel == "email" and rendered is not None:
        pay = payment_for(settings, pending.customer, pending.lines, pending.statement, lang)
        if pay is not None and pay.epc and qr_available():
            item.epc_payload = pay.epc
            iban = next((v for k, v in pay.lines if k == "IBAN"), "")
            item.html = with_payment_qr(item.html, lang, after=iban)
    item.rendered = True


QR_CONTENT_ID = "epc-qr@cobro"


def with_payment_qr(html: str, language: str, after: str = "") -> str:
    """The HTML part with the EPC QR code (an inline image, ``cid:epc-qr@cobro``) after the paragraph that shows
    ``after`` (the IBAN: beside the way to pay), else at the end; the host attaches the PNG
    (``cobro.payment.qr_png(item.epc_payload)``)."""
    hint = ("Escanee este código con la app de su banco: la transferencia SEPA sale con el importe y el concepto ya "
            "rellenos." if language == "es" else
            "Scan this code with your banking app: the SEPA transfer comes with the amount and reference filled in.")
    alt = "Código QR de pago (transferencia SEPA)" if language == "es" else "Payment QR code (SEPA transfer)"
    block = (f'<p><img src="cid:{QR_CONTENT_ID}" width="164" height="164" alt="{alt}"><br>'
             f'<small>{hint}</small></p>\n')
    found = html.find(after) if after else -1
    end = html.find("</p>", found) if found >= 0 else -1
    if end >= 0:
        at = end + len("</p>")
        return html[:at] + "\n" + block + html[at:]
    at = html.rfind("</body>")
    return html[:at] + block + html[at:] if at >= 0 else html + block


def attach_statements(ledger: Ledger, plan: ReminderPlan) -> None:
    """Attach the statement of account (``cobro.statement``) to each e-mail whose level has ``attach_statement``
    set in Levels (issue 13 §4). A statement that cannot be made is a warning on the item, never a lost e-mail."""
    levels = ledger.levels
    if "attach_statement" not in levels.columns:
        return
    flags = {str(r["level"]): str(r.get("attach_statement", "") or "").casefold() in ("yes", "true", "1", "sí", "si")
             or r.get("attach_statement") is True for r in levels.to_dict("records")}
    wanted = [i for i in plan.items if i.channel == "email" and flags.get(i.level)]
    if not wanted:
        return
    try:
        from .pdf_statement import render_statement
    except ImportError:
        for item in wanted:
            item.warnings.append("statement not attached: install cobro's letters extra (reportlab, segno)")
        return
    from .statement import statement_for

    for item in wanted:
        st = statement_for(ledger, item.customer_id, item.as_of, item.language)
        item.statement_pdf = render_statement(st)
