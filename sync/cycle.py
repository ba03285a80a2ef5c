"""The collection cycle: plan, send, log — exactly once, whatever crashes in between.

``collect(store, as_of)`` is what ``cobro remind``, the scheduler and ``POST /api/reminders/send`` run:

1. Take the run lock (the send journal's), so a second run stops at once.
2. Write to the Contacts log whatever an earlier run sent but never logged (a crash between sending and
   logging), and retire e-mails an earlier day planned but never delivered (superseded by today's plan).
3. Plan (``cobro.reminders.plan_reminders``); a broken template stops everything before anything is sent.
4. Send the e-mails through the journal (``sync.mailer.send_batch``) to the configured SMTP server, or to the
   embedded local sink (``outbox/`` beside the workbook) when none is configured; write letters as PDF files;
   call tasks and WhatsApp links need no sending.
5. Append one Contacts row per contact, update each invoice's reminder_level and last_contact, in one atomic
   write of the workbook; then mark the journal entries logged.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from cobro.errors import InputError
from cobro.ledger import Ledger, LedgerError, Problem, make_frame
from cobro.reminders import ReminderItem, ReminderPlan, plan_reminders
from cobro.schema import CONTACTS

from .config import SmtpConfig
from .journal import FAILED, SENT, Journal, journal_path_for
from .mailer import BatchResult, OutgoingMessage, send_batch
from .smtp_sink import Outbox, local_sink
from .store import Changes, LedgerStore
from .xlsx_store import XlsxStore


class PlanError(InputError, ValueError):
    """The plan cannot be sent (a broken template or setting); nothing was sent."""

    def __init__(self, plan: ReminderPlan, locale: str = "en"):
        self.plan = plan
        self.locale = locale
        lines = [e.message(locale) for e in plan.errors]
        super().__init__("nothing was sent; fix these first:\n  - " + "\n  - ".join(lines))

    def to_json(self, locale: str | None = None) -> dict[str, Any]:
        return {"error": "nothing was sent: a template or setting is broken; fix it first",
                "problems": [p.as_dict(locale or self.locale) for p in self.plan.errors]}


@dataclass
class CycleResult:
    plan: ReminderPlan
    dry_run: bool
    batch: BatchResult | None = None
    letters: list[Path] = field(default_factory=list)
    logged: int = 0
    caught_up: int = 0
    outbox: Path | None = None
    smtp: str = ""

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        out: dict[str, Any] = {"as_of": self.plan.as_of.isoformat(), "dry_run": self.dry_run,
                               "plan": self.plan.to_json(locale)}
        if self.batch is not None:
            out["send"] = {"summary": self.batch.summary(), "ok": self.batch.ok, "error": self.batch.error,
                           "server": self.batch.server,
                           "results": [{"key": r.key, "message_id": r.message_id, "status": r.status,
                                        "reason": r.reason, "to": list(r.to), "subject": r.subject}
                                       for r in self.batch.results]}
        out["letters"] = [str(p) for p in self.letters]
        out["logged_contacts"] = self.logged
        out["caught_up_contacts"] = self.caught_up
        out["outbox"] = str(self.outbox) if self.outbox else None
        return out


def outbox_for(workbook: Path) -> Path:
    return workbook.parent / "outbox"


def letters_dir_for(workbook: Path, as_of: dt.date) -> Path:
    return workbook.parent / "letters" / as_of.isoformat()


def contact_time(ledger: Ledger, as_of: dt.date, now: dt.datetime | None = None) -> dt.datetime:
    """The Contacts timestamp for a run of ``as_of``: now in the company's time zone, on the as-of day."""
    try:
        tz = ZoneInfo(ledger.settings.timezone)
    except Exception:
        tz = ZoneInfo("UTC")
    local = (now or dt.datetime.now(dt.UTC)).astimezone(tz).replace(tzinfo=None, microsecond=0)
    return local if local.date() == as_of else dt.datetime.combine(as_of, local.time())


def message_for(item: ReminderItem, stamp: dt.datetime) -> OutgoingMessage:
    """The e-mail of a plan item; its journal key is customer|level|as-of, like its Message-ID."""
    rows = item.contact_rows(stamp)
    meta = {"customer_id": item.customer_id, "level": item.level, "channel": item.channel,
            "invoice_ids": list(item.invoice_ids), "as_of": item.as_of.isoformat(),
            "contacts": [{k: (v.isoformat() if isinstance(v, (pd.Timestamp, dt.datetime)) else v)
                          for k, v in r.items()} for r in rows]}
    attachments: tuple[tuple[str, bytes, str], ...] = ()
    if item.letter_pdf:
        attachments = ((f"{item.customer_id}-{item.level}.pdf", item.letter_pdf, "application/pdf"),)
    return OutgoingMessage(key=f"{item.customer_id}|{item.level}|{item.as_of.isoformat()}",
                           message_id=item.message_id, sender=item.sender_email, sender_name=item.sender_name,
                           reply_to=item.reply_to, to=item.to, cc=item.cc, subject=item.subject, html=item.html,
                           text=item.text, attachments=attachments, meta=meta)


def _rows_from_meta(meta: dict[str, Any], outcome: str, notes: str = "") -> list[dict[str, Any]]:
    rows = []
    for r in meta.get("contacts", []):
        row = dict(r)
        row["timestamp"] = pd.Timestamp(row["timestamp"])
        row["invoice_ids"] = tuple(row.get("invoice_ids") or ())
        row["outcome"] = outcome
        if notes:
            row["notes"] = notes
        rows.append(row)
    return rows


@contextmanager
def _smtp(config: SmtpConfig | None, outbox: Path) -> Iterator[tuple[SmtpConfig, Path | None]]:
    if config is not None:
        yield config, None
        return
    with local_sink(outbox) as sink_config:
        yield sink_config, outbox


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:80]


def collect(store: XlsxStore, as_of: dt.date, *, dry_run: bool = False, config: SmtpConfig | None = None,
            use_env: bool = True, journal_path: Path | None = None, now: dt.datetime | None = None,
            progress: Callable[[int], None] | None = None) -> CycleResult:
    """Run one collection cycle for ``as_of`` (see the module docstring). Raises ``PlanError`` (nothing sent),
    ``LedgerError`` (bad workbook), ``RunInProgressError`` (another run holds the lock)."""
    if config is None and use_env:
        config = SmtpConfig.from_env()
    # With the embedded sink its outbox can be asked what it holds, even when the sink is not running.
    probe = Outbox(outbox_for(store.path)).already_delivered if config is None else config.already_delivered
    journal = Journal(journal_path or journal_path_for(store.path), already_delivered=probe)
    with journal, journal.lock():
        ledger = store.load()
        stamp = contact_time(ledger, as_of, now)
        caught_up = 0 if dry_run else _catch_up(store, journal, ledger, as_of)
        if caught_up:
            ledger = store.load()
        plan = plan_reminders(ledger, as_of)
        if not plan.ok:
            raise PlanError(plan, ledger.settings.locale)
        result = CycleResult(plan=plan, dry_run=dry_run, caught_up=caught_up)
        if dry_run:
            return result
        emails = [it for it in plan.items if it.channel == "email"]
        others = [it for it in plan.items if it.channel != "email"]
        contact_rows: list[dict[str, Any]] = []
        for it in others:
            if it.channel == "letter" and it.letter_pdf:
                folder = letters_dir_for(store.path, as_of)
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{_safe(it.customer_id)}-{_safe(it.level)}.pdf"
                path.write_bytes(it.letter_pdf)
                result.letters.append(path)
                rows = it.contact_rows(stamp, notes=f"letter: {path.name}")
            elif it.channel == "whatsapp":
                rows = it.contact_rows(stamp, notes=it.whatsapp_url)
            else:
                rows = it.contact_rows(stamp)
            contact_rows.extend(rows)
        logged_keys: list[str] = []
        if emails:
            messages = [message_for(it, stamp) for it in emails]
            with _smtp(config, outbox_for(store.path)) as (cfg, outbox):
                result.outbox = outbox
                result.smtp = cfg.source or cfg.address()
                batch = send_batch(messages, journal, cfg, progress)
            result.batch = batch
            for r in batch.to_log():
                if r.status == FAILED:
                    contact_rows.extend(_rows_from_meta(dict(r.meta), "failed", r.reason))
                else:
                    contact_rows.extend(_rows_from_meta(dict(r.meta), "sent"))
                logged_keys.append(r.key)
        result.logged = _log(store, contact_rows, as_of)
        if logged_keys:
            journal.mark_logged(logged_keys)
        return result


def _catch_up(store: XlsxStore, journal: Journal, ledger: Ledger, as_of: dt.date) -> int:
    """Log what earlier runs sent but never logged; retire e-mails of earlier days that never went out."""
    rows: list[dict[str, Any]] = []
    keys: list[str] = []
    for rec in journal.records():
        if rec.logged_at is not None:
            continue
        if rec.state == SENT:
            rows.extend(_rows_from_meta(rec.meta, "sent"))
            keys.append(rec.key)
        elif rec.state == FAILED:
            rows.extend(_rows_from_meta(rec.meta, "failed", rec.reason))
            keys.append(rec.key)
        elif rec.meta.get("as_of") and rec.meta["as_of"] < as_of.isoformat():
            # An e-mail of an earlier day that never got its "sent". If it was in flight when that run died,
            # the server may hold it: log it as sent (confirmed by the probe, or marked unconfirmed) rather
            # than let today's plan send the same level again under a new Message-ID.
            probe = journal.already_delivered
            delivered = probe(rec.message_id) if (rec.in_flight and probe is not None) else None
            if delivered or (rec.in_flight and delivered is None):
                note = "" if delivered else "unconfirmed: the run was interrupted while the server was receiving it"
                journal.mark_sent(rec.key, note or "confirmed delivered by the server after an interrupted run")
                rows.extend(_rows_from_meta(rec.meta, "sent", note))
            else:
                journal.mark_failed(rec.key, f"not sent on {rec.meta['as_of']}; superseded by the run of {as_of}")
            keys.append(rec.key)
    n = _log(store, rows, as_of) if rows else 0
    if keys:
        journal.mark_logged(keys)
    return n


def _log(store: XlsxStore, rows: list[dict[str, Any]], as_of: dt.date, ledger: Ledger | None = None) -> int:
    """Append Contacts rows and update the invoices' reminder_level / last_contact, in one write.

    Without ``ledger`` the workbook is read again first: after sending, a person may have saved it
    meanwhile, and the log belongs in their latest version.
    """
    if not rows:
        return 0
    from cobro.derive import derived_invoice_columns

    new = make_frame(CONTACTS, rows)
    ledger = ledger if ledger is not None else store.load()
    merged = ledger.replace(contacts=pd.concat([ledger.contacts, new], ignore_index=True))
    upd = derived_invoice_columns(merged, as_of)
    store.commit(Changes(append={"Contacts": new},
                         update={"Invoices": upd[["_row", "currency", "reminder_level", "last_contact"]]}))
    return len(new)


def log_contact(store: XlsxStore, row: dict[str, Any], as_of: dt.date, ledger: Ledger | None = None
                ) -> pd.DataFrame:
    """Record one contact a person made (``cobro log``): validated like a sheet row, appended atomically.

    ``ledger``: the store's ledger when the caller has just loaded it (saves reading the workbook again).
    """
    ledger = ledger if ledger is not None else store.load()
    if row["customer_id"] not in set(ledger.customers["customer_id"]):
        raise LedgerError([_problem("customer_id", row["customer_id"], "customer", {"sheet": "Customers"})],
                          ledger.settings.locale)
    known = set(ledger.invoices["invoice_id"])
    for inv in row.get("invoice_ids", ()):
        if inv not in known:
            raise LedgerError([_problem("invoice_ids", inv, "invoice", {"sheet": "Invoices"})],
                              ledger.settings.locale)
    _log(store, [row], as_of, ledger)
    return make_frame(CONTACTS, [row])


def _problem(column: str, value: object, code: str, detail: dict[str, object]) -> Problem:
    return Problem("Contacts", 0, column, value, code, detail)



def refresh(store: LedgerStore, as_of: dt.date, ledger: Ledger | None = None) -> int:
    """Write the derived invoice columns (paid, balance, days overdue, level, last contact) and give payment rows
    without an id one; the number of invoice rows updated. ``ledger``: already loaded from ``store``."""
    from cobro.derive import derived_invoice_columns, missing_payment_ids

    led = ledger if ledger is not None else store.load()
    upd = derived_invoice_columns(led, as_of)
    changes = Changes(update={"Invoices": upd})
    ids = missing_payment_ids(led)
    if len(ids):
        changes.update["Payments"] = ids
    store.commit(changes)
    return len(upd)
