"""The collection cycle: plan, send, log — exactly once, whatever crashes in between.

``collect(store, as_of)`` is what ``cobro remind``, the scheduler and ``POST /api/reminders/send`` run, on any
``LedgerStore``:

1. Refuse before anything is sent when the ledger cannot be written afterwards (``store.check_writable()``: the
   workbook is open in Excel, a second hard link names it...).
2. Take the run lock (the send journal's: one per ledger whatever path names it), so a second run stops at once.
3. The journal is the record of what was sent: write to the Contacts log whatever it knows as sent, failed or
   unconfirmed and the log lacks — never logged yet (a crash between sending and logging) or erased (a stale
   copy of the workbook saved over the ledger) — and retire e-mails an earlier day planned but never delivered.
   Contacts are logged idempotently by Message-ID, so the plan's "level reached" agrees with the journal.
4. Plan (``cobro.reminders.plan_reminders``); a broken template stops everything before anything is sent. Each
   item's Message-ID is the journal's for its key, or the one scheme (``cobro.reminders.message_id``) with the
   ledger's id.
5. Send the e-mails through the journal (``sync.mailer.send_batch``) to the configured SMTP server, or to the
   embedded local sink (``outbox/`` beside the workbook) when none is configured; write letters as PDF files
   (0600); call tasks and WhatsApp links need no sending. An e-mail whose outcome is unknown is *unconfirmed*:
   logged as such, listed in the result, resent only with ``resend_unconfirmed=True`` (a person's choice).
6. Append one Contacts row per contact, update each invoice's reminder_level and last_contact, in one atomic
   write of the workbook; then mark the journal entries logged. If that write fails after messages went out
   (workbook locked, disk full, saved meanwhile), ``SentButNotLoggedError`` says what was sent and that the
   contacts are logged by the next run — nothing is sent twice.

``collect(..., dry_run=True)`` (previews) takes no lock and writes nothing: it reads the journal, so its plan
is the plan a run would send, and lists the unconfirmed messages. Previews run concurrently with each other and
with a run.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from cobro.errors import CobroError, ConflictError, InputError, ServiceConfigError
from cobro.ledger import Ledger, LedgerError, Problem, make_frame
from cobro.reminders import NextStep, ReminderItem, ReminderPlan, message_id, next_steps, plan_reminders
from cobro.schema import CONTACTS

from .clock import company_today
from .config import DeliveryProbe, SmtpConfig
from .fileio import real_path, write_private
from .journal import FAILED, INTENDED, SENT, UNCONFIRMED, Journal, JournalRecord, journal_path_for
from .mailer import BatchResult, OutgoingMessage, resend_unconfirmed, send_batch
from .smtp_sink import local_sink, outbox_probe
from .store import Changes, LedgerStore

UNCONFIRMED_NOTE = "unconfirmed"  # Contacts notes of an unconfirmed e-mail start with this word
RELOGGED_NOTE = "logged again from the send journal (the row was missing from Contacts)"


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


class SentButNotLoggedError(ConflictError):
    """Messages went out but the workbook (or the journal) could not be written afterwards. Nothing is lost and
    nothing is sent twice: the send journal holds what was sent, and the next run logs it first."""

    def __init__(self, message: str, result: CycleResult | None = None, *, source: str | None = None) -> None:
        super().__init__(message, source=source)
        self.result = result

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.render(locale), "sent_but_not_logged": True}
        if self.result is not None:
            body["result"] = self.result.to_json(locale)
        return body


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
    unconfirmed: list[JournalRecord] = field(default_factory=list)  # after the run: a person decides
    next_steps: list[NextStep] = field(default_factory=list)  # a preview: what comes next for everyone else
    resent: BatchResult | None = None  # the unconfirmed e-mails a person chose to resend

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        out: dict[str, Any] = {"as_of": self.plan.as_of.isoformat(), "dry_run": self.dry_run,
                               "plan": self.plan.to_json(locale)}
        for name, batch in (("send", self.batch), ("resend", self.resent)):
            if batch is not None:
                out[name] = {"summary": batch.summary(), "ok": batch.ok, "error": batch.error,
                             "server": batch.server,
                             "results": [{"key": r.key, "message_id": r.message_id, "status": r.status,
                                          "reason": r.reason, "to": list(r.to), "subject": r.subject}
                                         for r in batch.results]}
        out["unconfirmed"] = [unconfirmed_json(r) for r in self.unconfirmed]
        if self.dry_run:
            out["next_steps"] = [s.to_json(locale) for s in self.next_steps]
        out["letters"] = [str(p) for p in self.letters]
        out["logged_contacts"] = self.logged
        out["caught_up_contacts"] = self.caught_up
        out["outbox"] = str(self.outbox) if self.outbox else None
        return out

    def sent_summary(self) -> str:
        """What went out in this run, for a message after a later failure."""
        parts = []
        for batch in (self.batch, self.resent):
            if batch is not None:
                parts.append(batch.summary())
        if self.letters:
            parts.append(f"{len(self.letters)} letters written")
        return "; ".join(parts) or "nothing was sent"


def unconfirmed_json(rec: JournalRecord) -> dict[str, Any]:
    """An unconfirmed e-mail as the plan and the page list it."""
    return {"key": rec.key, "message_id": rec.message_id, "customer_id": rec.meta.get("customer_id", ""),
            "level": rec.meta.get("level", ""), "as_of": rec.meta.get("as_of", ""), "to": list(rec.recipients),
            "subject": rec.subject, "reason": rec.reason,
            "since": rec.in_flight_at.isoformat() if rec.in_flight_at else None}


def ledger_file(store: LedgerStore) -> Path | None:
    """The ledger's own file (symlinks resolved) when the store keeps it in one, else None."""
    path = getattr(store, "path", None)
    return real_path(path) if path else None


def outbox_for(workbook: Path) -> Path:
    return real_path(workbook).parent / "outbox"


def letters_dir_for(workbook: Path, as_of: dt.date) -> Path:
    return real_path(workbook).parent / "letters" / as_of.isoformat()


def contact_time(ledger: Ledger, as_of: dt.date, now: dt.datetime | None = None) -> dt.datetime:
    """The Contacts timestamp for a run of ``as_of``: now in the company's time zone, on the as-of day."""
    try:
        tz = ZoneInfo(ledger.settings.timezone)
    except Exception:
        tz = ZoneInfo("UTC")
    local = (now or dt.datetime.now(dt.UTC)).astimezone(tz).replace(tzinfo=None, microsecond=0)
    return local if local.date() == as_of else dt.datetime.combine(as_of, local.time())


def item_key(item: ReminderItem) -> str:
    """The journal key of a plan item: customer|level|as-of."""
    return f"{item.customer_id}|{item.level}|{item.as_of.isoformat()}"


def stamp_message_ids(plan: ReminderPlan, journal: Journal | None) -> None:
    """Give each item its Message-ID: the journal's for a key it already holds (one key, one Message-ID for the
    life of the ledger), else the one scheme with the ledger's id."""
    if journal is None:
        return
    known = journal.message_ids(item_key(it) for it in plan.items)
    for it in plan.items:
        it.message_id = known.get(item_key(it)) or message_id(it.customer_id, it.level, it.as_of, it.sender_email,
                                                              ledger_id=journal.ledger_id)


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
    statement_pdf = getattr(item, "statement_pdf", None)
    if statement_pdf:
        name = ("extracto" if item.language == "es" else "statement") + f"-{item.customer_id}-{item.as_of}.pdf"
        attachments += ((name, statement_pdf, "application/pdf"),)
    inline: tuple[tuple[str, bytes, str], ...] = ()
    payload = getattr(item, "epc_payload", "")
    if payload and item.html:
        from cobro.payment import qr_png
        from cobro.reminders import QR_CONTENT_ID

        inline = ((QR_CONTENT_ID, qr_png(payload), "image/png"),)
    return OutgoingMessage(key=item_key(item),
                           message_id=item.message_id, sender=item.sender_email, sender_name=item.sender_name,
                           reply_to=item.reply_to, to=item.to, cc=item.cc, subject=item.subject, html=item.html,
                           text=item.text, attachments=attachments, meta=meta, inline=inline)


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


def _row_key(message_id: object, outcome: object, notes: object) -> tuple[str, str, bool]:
    """What makes a logged contact of a sent message unique: its Message-ID, outcome, and whether it was the
    unconfirmed one (a person's resend adds a confirmed row under the same Message-ID)."""
    return (str(message_id or "").strip(), str(outcome or ""), str(notes or "").startswith(UNCONFIRMED_NOTE))


def _logged(contacts: pd.DataFrame) -> set[tuple[str, str, bool]]:
    with_id = contacts[contacts["message_id"].astype(str).str.strip() != ""]
    return {_row_key(m, o, n) for m, o, n in zip(with_id["message_id"], with_id["outcome"], with_id["notes"],
                                                 strict=True)}


def _journal_rows(rec: JournalRecord) -> tuple[list[dict[str, Any]], tuple[str, str, bool]]:
    """The Contacts rows that record ``rec``'s outcome, and their idempotency key."""
    if rec.state == FAILED:
        return _rows_from_meta(rec.meta, "failed", rec.reason), _row_key(rec.message_id, "failed", rec.reason)
    if rec.state == UNCONFIRMED:
        note = rec.reason if rec.reason.startswith(UNCONFIRMED_NOTE) else f"{UNCONFIRMED_NOTE}: {rec.reason}"
        return _rows_from_meta(rec.meta, "sent", note), _row_key(rec.message_id, "sent", note)
    if rec.reason.startswith(UNCONFIRMED_NOTE):  # accepted as it was by a person: its row is the unconfirmed one
        return _rows_from_meta(rec.meta, "sent", rec.reason), _row_key(rec.message_id, "sent", rec.reason)
    note = rec.reason if "person's request" in rec.reason else ""
    return _rows_from_meta(rec.meta, "sent", note), _row_key(rec.message_id, "sent", "")


def _journal_catch_up(journal: Journal, ledger: Ledger, as_of: dt.date, write: bool
                      ) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows the Contacts log lacks according to the journal, and the keys to mark logged once written.

    ``write``: resolve e-mails of earlier days left intended (sent if the server confirms, unconfirmed when it
    was in flight and cannot be asked, else retired as superseded). Without it (a preview) nothing is changed
    and they are counted as they would be resolved."""
    have = _logged(ledger.contacts)
    rows: list[dict[str, Any]] = []
    keys: list[str] = []
    for rec in journal.records():
        if rec.state == INTENDED:
            if not (rec.meta.get("as_of") and rec.meta["as_of"] < as_of.isoformat()):
                continue  # today's: today's plan sends it
            probe = journal.already_delivered
            delivered = None
            if rec.in_flight and probe is not None:
                try:
                    delivered = bool(probe(rec.message_id))
                except Exception:
                    delivered = None
            if write:
                if delivered:
                    journal.mark_sent(rec.key, "confirmed delivered by the server after an interrupted run")
                elif rec.in_flight and delivered is None:
                    journal.mark_unconfirmed(rec.key, f"{UNCONFIRMED_NOTE}: the run was interrupted while the server "
                                                      "was receiving it; not resent")
                else:
                    journal.mark_failed(rec.key, f"not sent on {rec.meta['as_of']}; superseded by the run of {as_of}")
                rec = journal.get(rec.key) or rec
            elif delivered or (rec.in_flight and delivered is None):
                rows.extend(_rows_from_meta(rec.meta, "sent", "" if delivered else UNCONFIRMED_NOTE))
                continue
            else:
                continue
        if rec.state not in (SENT, FAILED, UNCONFIRMED):
            continue
        found, key = _journal_rows(rec)
        if key[0] and key in have:  # already in Contacts (e.g. a crash after the save, before mark_logged)
            if rec.logged_at is None:
                keys.append(rec.key)
            continue
        if rec.logged_at is not None:
            if rec.state == FAILED:
                continue  # a failure erased from the log is not worth restoring
            for row in found:  # erased by a stale copy saved over the ledger: the journal restores it
                row["notes"] = "; ".join(x for x in (row.get("notes", ""), RELOGGED_NOTE) if x)
        rows.extend(found)
        keys.append(rec.key)
    return rows, keys


@contextmanager
def _smtp(config: SmtpConfig | None, outbox: Path) -> Iterator[tuple[SmtpConfig, Path | None]]:
    if config is not None:
        yield config, None
        return
    with local_sink(outbox) as sink_config:
        yield sink_config, outbox


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:80]


def _paths(store: LedgerStore, journal_path: Path | None, outbox: Path | None) -> tuple[Path, Path | None]:
    home = ledger_file(store)
    if journal_path is None and home is None:
        raise ServiceConfigError(f"{store.describe()}: this ledger is not a file; give the cycle a journal path")
    return (journal_path or journal_path_for(home)), (outbox or (outbox_for(home) if home else None))  # type: ignore[arg-type]


def collect(store: LedgerStore, as_of: dt.date | None, *, dry_run: bool = False, config: SmtpConfig | None = None,
            use_env: bool = True, journal_path: Path | None = None, outbox: Path | None = None,
            letters_dir: Path | None = None, now: dt.datetime | None = None,
            progress: Callable[[int], None] | None = None, resend_unconfirmed: bool = False,
            accept_unconfirmed: bool = False) -> CycleResult:
    """Run one collection cycle for ``as_of`` (None: today in the company's time zone, read from the ledger's
    Settings as the cycle loads it — the company clock; see the module docstring). ``dry_run``: a preview (no lock, no
    writes). ``resend_unconfirmed``: a person chose to resend the e-mails whose outcome is unknown;
    ``accept_unconfirmed``: a person chose not to (they stop being listed; the level stays reached). Raises
    ``PlanError`` (nothing sent), ``LedgerError`` (bad workbook), ``RunInProgressError`` (another run holds the
    lock), the store's refusal (nothing sent), ``SentButNotLoggedError`` (sent, logged by the next run)."""
    jpath, box = _paths(store, journal_path, outbox)
    if config is None and use_env:
        config = SmtpConfig.from_env()
    # With the embedded sink its outbox can be asked what it holds, even when the sink is not running.
    probe: DeliveryProbe | None = (outbox_probe(box) if box is not None else None) if config is None \
        else config.already_delivered
    if dry_run:
        return _preview(store, as_of, jpath, probe)
    store.check_writable()  # the workbook open in Excel, a hard link...: refuse before anything is sent
    if config is None and box is None:
        raise ServiceConfigError(f"{store.describe()}: no SMTP server configured and no outbox folder for the "
                                 "local sink")
    try:
        return _run(store, as_of, jpath, box, probe, config, letters_dir, now, progress, resend_unconfirmed,
                    accept_unconfirmed)
    except sqlite3.Error as exc:  # the journal cannot record (disk full...) before anything was sent
        raise ConflictError(f"the send journal {jpath} could not be written ({exc}); nothing was sent. Free some "
                            "disk space and run again.", source=str(jpath)) from None


def _run(store: LedgerStore, as_of: dt.date | None, jpath: Path, box: Path | None, probe: DeliveryProbe | None,
         config: SmtpConfig | None, letters_dir: Path | None, now: dt.datetime | None,
         progress: Callable[[int], None] | None, resend_unconfirmed: bool, accept_unconfirmed: bool) -> CycleResult:
    journal = Journal(jpath, already_delivered=probe)
    with journal, journal.lock():
        if accept_unconfirmed and not resend_unconfirmed:
            for rec in journal.unconfirmed():
                journal.accept_unconfirmed(rec.key)
        ledger = store.load()
        as_of = as_of if as_of is not None else company_today(ledger.settings, now)
        stamp = contact_time(ledger, as_of, now)
        rows, keys = _journal_catch_up(journal, ledger, as_of, write=True)
        caught_up = _log(store, rows, as_of, ledger)
        if keys:
            journal.mark_logged(keys)
        if caught_up:
            ledger = store.load()
        plan = plan_reminders(ledger, as_of)
        if not plan.ok:
            raise PlanError(plan, ledger.settings.locale)
        stamp_message_ids(plan, journal)
        result = CycleResult(plan=plan, dry_run=False, caught_up=caught_up)
        try:
            contact_rows, logged_keys = _send(store, journal, plan, result, config, box, letters_dir, stamp,
                                              progress, resend_unconfirmed)
        except sqlite3.Error as exc:  # the journal could not record (disk full): stop, say what went out
            sent = ("some e-mails went out before it" if result.batch is None and emails_planned(plan)
                    else result.sent_summary())
            raise SentButNotLoggedError(
                f"the send journal {jpath} could not be written ({exc}); the run stopped ({sent}). Nothing is sent "
                "twice: the journal knows every message that may have reached the server; the next run logs the "
                "confirmed ones and lists the others as unconfirmed.", result, source=str(jpath)) from None
        try:
            result.logged = _log(store, contact_rows, as_of)
        except (CobroError, OSError) as exc:
            reason = exc.render() if isinstance(exc, CobroError) else (exc.strerror or str(exc))
            raise SentButNotLoggedError(
                f"{result.sent_summary()}; but the Contacts log in {store.describe()} could not be written: "
                f"{reason}. Nothing will be sent twice: the send journal keeps what was sent, and the next run "
                "(cobro remind) logs these contacts first.", result, source=store.describe()) from None
        try:
            if logged_keys:
                journal.mark_logged(logged_keys)
            result.unconfirmed = journal.unconfirmed()
        except sqlite3.Error:  # logged in the workbook: the next run finds the rows and marks them
            pass
        return result


def emails_planned(plan: ReminderPlan) -> int:
    return sum(1 for it in plan.items if it.channel == "email")


def _send(store: LedgerStore, journal: Journal, plan: ReminderPlan, result: CycleResult,
          config: SmtpConfig | None, box: Path | None, letters_dir: Path | None, stamp: dt.datetime,
          progress: Callable[[int], None] | None, resend: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """Send the e-mails, write the letters; the Contacts rows to log and the journal keys they settle."""
    emails = [it for it in plan.items if it.channel == "email"]
    contact_rows: list[dict[str, Any]] = []
    for it in plan.items:
        if it.channel == "email":
            continue
        if it.channel == "letter" and it.letter_pdf:
            home = ledger_file(store)
            folder = letters_dir or (letters_dir_for(home, plan.as_of) if home else
                                     journal.path.parent / "letters" / plan.as_of.isoformat())
            path = folder / f"{_safe(it.customer_id)}-{_safe(it.level)}.pdf"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                write_private(path, it.letter_pdf)  # names and amounts: the owner's only
            except OSError as exc:
                raise SentButNotLoggedError(
                    f"the letter {path} could not be written ({exc.strerror or exc}); "
                    f"{result.sent_summary() if result.letters else 'nothing was sent'}", result,
                    source=str(path)) from None
            result.letters.append(path)
            rows = it.contact_rows(stamp, notes=f"letter: {path.name}")
        elif it.channel == "whatsapp":
            rows = it.contact_rows(stamp, notes=it.whatsapp_url)
        else:
            rows = it.contact_rows(stamp)
        contact_rows.extend(rows)
    logged_keys: list[str] = []
    if not emails and not (resend and journal.unconfirmed()):
        return contact_rows, logged_keys
    with _smtp(config, box or Path(".")) as (cfg, used_outbox):
        result.outbox = used_outbox
        result.smtp = cfg.source or cfg.address()
        if emails:
            result.batch = send_batch([message_for(it, stamp) for it in emails], journal, cfg, progress)
        if resend:
            result.resent = resend_unconfirmed(journal, cfg, progress=progress)
    for batch in (result.batch, result.resent):
        for r in batch.to_log() if batch is not None else ():
            rec = journal.get(r.key)
            if rec is None:
                continue
            rows, _ = _journal_rows(rec)
            contact_rows.extend(rows)
            logged_keys.append(r.key)
    return contact_rows, logged_keys


def _preview(store: LedgerStore, as_of: dt.date | None, jpath: Path, probe: DeliveryProbe | None) -> CycleResult:
    """A dry run: the plan a run would send now, taking the journal into account; no lock, no writes."""
    ledger = store.load()
    as_of = as_of if as_of is not None else company_today(ledger.settings)
    journal = Journal.reader(jpath, already_delivered=probe)
    try:
        caught_up = 0
        if journal is not None:
            rows, _ = _journal_catch_up(journal, ledger, as_of, write=False)
            if rows:
                ledger = ledger.replace(contacts=pd.concat([ledger.contacts, make_frame(CONTACTS, rows)],
                                                           ignore_index=True))
                caught_up = len(rows)
        plan = plan_reminders(ledger, as_of)
        if not plan.ok:
            raise PlanError(plan, ledger.settings.locale)
        stamp_message_ids(plan, journal)
        result = CycleResult(plan=plan, dry_run=True, caught_up=caught_up, next_steps=next_steps(ledger, as_of))
        if journal is not None:
            result.unconfirmed = journal.unconfirmed()
        return result
    finally:
        if journal is not None:
            journal.close()


def _log(store: LedgerStore, rows: list[dict[str, Any]], as_of: dt.date, ledger: Ledger | None = None) -> int:
    """Append Contacts rows and update the invoices' reminder_level / last_contact, in one write; rows of a sent
    message already in the log (same Message-ID and outcome) are not appended again.

    Without ``ledger`` the workbook is read again first: after sending, a person may have saved it
    meanwhile, and the log belongs in their latest version.
    """
    if not rows:
        return 0
    from cobro.derive import derived_invoice_columns

    ledger = ledger if ledger is not None else store.load()
    have = _logged(ledger.contacts)
    rows = [r for r in rows if not str(r.get("message_id") or "").strip()
            or _row_key(r.get("message_id"), r.get("outcome"), r.get("notes")) not in have]
    if not rows:
        return 0
    new = make_frame(CONTACTS, rows)
    merged = ledger.replace(contacts=pd.concat([ledger.contacts, new], ignore_index=True))
    upd = derived_invoice_columns(merged, as_of)
    store.commit(Changes(append={"Contacts": new},
                         update={"Invoices": upd[["_row", "currency", "reminder_level", "last_contact"]]}))
    return len(new)


def log_contact(store: LedgerStore, row: dict[str, Any], as_of: dt.date, ledger: Ledger | None = None
                ) -> pd.DataFrame:
    """Record one contact a person made (``cobro log``): validated like a sheet row, appended atomically.

    ``ledger``: the store's ledger when the caller has just loaded it (saves reading the workbook again).
    """
    ledger = ledger if ledger is not None else store.load()
    if row["customer_id"] not in set(ledger.customers["customer_id"].tolist()):
        raise LedgerError([_problem("customer_id", row["customer_id"], "customer", {"sheet": "Customers"})],
                          ledger.settings.locale)
    known = set(ledger.invoices["invoice_id"].tolist())
    for inv in row.get("invoice_ids", ()):
        if inv not in known:
            raise LedgerError([_problem("invoice_ids", inv, "invoice", {"sheet": "Invoices"})],
                              ledger.settings.locale)
    _log(store, [row], as_of, ledger)
    return make_frame(CONTACTS, [row])


def _problem(column: str, value: object, code: str, detail: dict[str, object]) -> Problem:
    return Problem("Contacts", 0, column, value, code, detail)



def refresh(store: LedgerStore, as_of: dt.date, ledger: Ledger | None = None) -> int:
    """Write the derived invoice columns (paid, balance, days overdue, level, last contact), give payment rows
    without an id one and fill the Dashboard (KPIs, worklist top 20, 13-week forecast; an .xlsx ledger without
    that sheet gets it first); the number of invoice rows updated. ``ledger``: already loaded from ``store``."""
    from cobro.derive import derived_invoice_columns, missing_payment_ids

    led = ledger if ledger is not None else store.load()
    if add_dashboard_sheet(store):
        led = store.load()  # the file now holds the new sheet: read again (what the commit compares against)
    upd = derived_invoice_columns(led, as_of)
    changes = Changes(update={"Invoices": upd})
    ids = missing_payment_ids(led)
    if len(ids):
        changes.update["Payments"] = ids
    if holds_dashboard(store):  # issue 14: KPIs, worklist top 20 and forecast into the template's Dashboard
        from cobro.report.dashboard import dashboard_frame

        changes.replace["Dashboard"] = dashboard_frame(led, as_of)
    store.commit(changes)
    return len(upd)


DASHBOARD_OWN_COLUMNS = frozenset({"section", "label", "amount", "figure"})  # a sheet without them is not cobro's


def holds_dashboard(store: LedgerStore) -> bool:
    """Whether the ledger has the template's Dashboard sheet (``Panel``/``Dashboard``): a sheet of that title
    whose headers are the Dashboard's (Sección, Concepto, Importe, Cifra…), known from a store that reports the
    sheets it found (``raw``: the file stores). A sheet of the user's that merely bears the title is theirs: cobro
    neither writes into it nor adds another (``foreign_dashboard``)."""
    return _dashboard_state(store) == "ours"


def foreign_dashboard(store: LedgerStore) -> str | None:
    """The title of a sheet named like the Dashboard that is not cobro's (the user's own ``Panel``), else None."""
    if _dashboard_state(store) != "foreign":
        return None
    return str(store.raw.titles["Dashboard"])  # type: ignore[attr-defined]


def _dashboard_state(store: LedgerStore) -> str:
    """``ours``, ``foreign`` (a sheet of that title with other headers) or ``absent``."""
    from cobro.schema import DASHBOARD

    from .xlsx_raw import _find_header

    raw = getattr(store, "raw", None)
    titles = getattr(raw, "titles", None)
    if not isinstance(titles, dict) or "Dashboard" not in titles:
        return "absent"
    head = (getattr(raw, "heads", None) or {}).get(titles["Dashboard"])
    if head is not None:
        found = set(_find_header(head, DASHBOARD)[1].values())
    else:
        tables = getattr(raw, "tables", None) or {}
        table = tables.get("Dashboard") if "Dashboard" in tables else None
        found = set(table.columns) if table is not None else set()
    return "ours" if DASHBOARD_OWN_COLUMNS <= found else "foreign"


def add_dashboard_sheet(store: LedgerStore) -> bool:
    """Give an .xlsx/.xlsm ledger without the Dashboard sheet one (``sync.dashboard_sheet``: the empty table and
    the native aging charts over the Summary, every other part kept byte for byte); True when it was added.
    Other stores (a Google Sheet, a host's tables) report no sheets (``raw``): their Dashboard is neither added
    nor filled."""
    from .xlsx_store import XlsxStore

    if not isinstance(store, XlsxStore) or _dashboard_state(store) != "absent":
        return False
    from .dashboard_sheet import add_dashboard

    store.check_writable()
    return add_dashboard(store.target, store.locale)
