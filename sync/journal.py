"""The crash-safe send journal: every outgoing message is written down before it is sent and after.

One SQLite file (WAL, ``synchronous=FULL``: a commit is on disk before the call returns) holds one row per
message *key* (e.g. ``customer|level|as_of``), with its deterministic Message-ID and a state:

``intended``
    recorded and committed before any SMTP traffic for it. While ``in_flight`` is 0 the server cannot have it:
    a crash here is harmless and a later run simply sends it.
``intended`` + ``in_flight`` = 1
    committed at each SMTP transaction for it (``start_attempt``): after its first command (MAIL FROM, or the
    pipelined MAIL/RCPT/DATA) is written, so the fsync overlaps the server's work, and always before its content
    is sent. From here until the server's reply to the final ``.`` the server may or may not have accepted it.
``sent``
    committed once the server answered 250 to the end of ``DATA``. On the happy path it rides in the next
    message's ``start_attempt`` transaction, written right after that message's commands: one fsync per message.
``failed``
    permanent: the server refused it with a 5xx reply, or the message itself is invalid (reason stored).
``unconfirmed``
    its outcome is unknown: its content reached the server (DATA sent) but the reply never arrived or was
    never recorded (a crash, a connection dropped after the final ``.``), and the server cannot be asked. It
    is **not** sent again automatically — a second reminder is worse than a late one — it is logged in
    Contacts as sent-unconfirmed (so the plan counts its level as reached), listed in the plan and the page,
    and sent again (the stored message, same Message-ID) only when a person asks for it
    (``cobro remind LEDGER --resend-unconfirmed``).

Resolving an interrupted run (``sync.mailer.send_batch`` does this):

- ``intended``, not in flight -> sent normally; no duplicate is possible.
- ``intended``, in flight -> if the server can be asked (an ``already_delivered(message_id)`` probe: the embedded
  sink and the test servers have one), its answer decides: delivered -> recorded ``sent``; not delivered ->
  sent. Otherwise it becomes ``unconfirmed`` and is never resent automatically.

So no message is ever sent twice by cobro on its own: every message whose content may have reached the server
without its 250 being recorded is either confirmed by asking the server or left for a person to decide. Messages
go one after another over one connection, so at most one message is in flight at any moment and an interruption
makes at most one message unconfirmed. A probe must reflect every transaction the server completed (including
one from a client that died after sending the final ``.``).

The journal also keeps the message's bytes (``payload``) while it is intended or unconfirmed (cleared once it is
sent or failed), so a person's resend sends exactly the message the server may already hold, and the ledger's
id (``ledger_id``, minted when the journal is created): it is part of every Message-ID, so two ledgers — same
customer ids, same sender domain, one folder — never share one.

Each row also keeps attempts, the last reason, timestamps (UTC ISO-8601) and ``logged_at``: set by the caller
(``mark_logged``) once the contact is written to the workbook's Contacts log, so a crash between sending and
logging is caught up by the next run. The journal is the record of what was sent: a Contacts row that went
missing (a stale copy of the workbook saved over it) is logged again from here, never resent.

A lock (``<journal>.lock``, non-blocking, ``sync.fileio``) lets one run at a time use a journal: a second one
stops at once with ``RunInProgressError`` ("a run is already in progress"). Readers (previews) take no lock.
The journal, its WAL files and the lock file are readable by their owner only (0600): they hold recipients,
subjects and invoice ids. One ledger has one journal whatever link names it (``journal_path_for`` resolves
symlinks).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cobro.errors import ServiceConfigError
from sync.config import DeliveryProbe
from sync.fileio import open_private, real_path, try_lock, unlock
from sync.store import LedgerLockedError

INTENDED = "intended"
SENT = "sent"
FAILED = "failed"
UNCONFIRMED = "unconfirmed"
STATES = (INTENDED, SENT, FAILED, UNCONFIRMED)
SCHEMA_VERSION = 2

_COLUMNS = ("key, message_id, state, in_flight, attempts, reason, subject, recipients, meta, created_at, "
            "updated_at, in_flight_at, sent_at, failed_at, logged_at")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    key          TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL UNIQUE,
    state        TEXT NOT NULL CHECK (state IN ('intended', 'sent', 'failed', 'unconfirmed')),
    in_flight    INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    reason       TEXT NOT NULL DEFAULT '',
    subject      TEXT NOT NULL DEFAULT '',
    recipients   TEXT NOT NULL DEFAULT '',
    meta         TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    in_flight_at TEXT,
    sent_at      TEXT,
    failed_at    TEXT,
    logged_at    TEXT,
    payload      BLOB
);
CREATE INDEX IF NOT EXISTS messages_state ON messages (state);
CREATE TABLE IF NOT EXISTS info (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# version 1 -> 2: the 'unconfirmed' state (a CHECK constraint: the table is rebuilt), the payload, the ledger id
_UPGRADE_1 = f"""
ALTER TABLE messages RENAME TO messages_v1;
{_SCHEMA.replace("CREATE INDEX IF NOT EXISTS messages_state ON messages (state);", "")}
INSERT INTO messages ({_COLUMNS}) SELECT {_COLUMNS} FROM messages_v1;
DROP TABLE messages_v1;
CREATE INDEX IF NOT EXISTS messages_state ON messages (state);
"""


class RunInProgressError(LedgerLockedError):
    """Another run holds the journal's lock."""


class JournalError(ServiceConfigError, RuntimeError):
    """The journal file cannot be used (not a cobro journal, newer schema, unreadable)."""


@dataclass(frozen=True)
class JournalRecord:
    key: str
    message_id: str
    state: str
    in_flight: bool
    attempts: int
    reason: str
    subject: str
    recipients: tuple[str, ...]
    meta: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    in_flight_at: datetime | None
    sent_at: datetime | None
    failed_at: datetime | None
    logged_at: datetime | None

    @property
    def pending(self) -> bool:
        return self.state == INTENDED

    @property
    def unconfirmed(self) -> bool:
        return self.state == UNCONFIRMED


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def journal_path_for(workbook: str | os.PathLike[str]) -> Path:
    """The default journal of a workbook: ``<folder>/<name>.cobro-journal.sqlite`` beside the file itself —
    symlinks resolved, so the service started on a link and cron on the target share one journal and one lock
    (a hard link is a second name the file store refuses to write through: ``check_writable``)."""
    path = real_path(workbook)
    return path.with_name(f"{path.stem}.cobro-journal.sqlite")


class Journal:
    """One journal file. ``already_delivered`` is the optional probe of the server the messages go to.

    Not thread-safe: one run uses it from one thread. Use as a context manager or call ``close``.
    ``Journal.reader(path)`` opens an existing journal for reading only (previews): no lock, no upgrade.
    """

    def __init__(self, path: str | os.PathLike[str], already_delivered: DeliveryProbe | None = None, *,
                 _read_only: bool = False) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.already_delivered = already_delivered
        self.read_only = _read_only
        self._lock_fd: int | None = None
        self._lock_depth = 0
        self._ledger_id = ""
        try:
            if not _read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                os.close(open_private(self.path))  # 0600 before SQLite opens it; its -wal/-shm take the same mode
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise JournalError(f"send journal {self.path} cannot be used: {exc}") from None
        try:
            if not _read_only:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"send journal {self.path} was written by a newer cobro (schema {version}); upgrade cobro"
                )
            if _read_only:
                self._db.execute("PRAGMA query_only=1")
            elif version < SCHEMA_VERSION:
                with self._transaction() as db:
                    script = _SCHEMA if version == 0 else _UPGRADE_1
                    for statement in script.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._ledger_id = self._read_ledger_id(version)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise JournalError(f"send journal {self.path} cannot be used: {exc}") from None
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def reader(cls, path: str | os.PathLike[str], already_delivered: DeliveryProbe | None = None) -> Journal | None:
        """The journal at ``path`` opened for reading (a preview while a run may be sending), or None when no
        journal exists yet. Takes no lock and writes nothing."""
        if not Path(path).exists():
            return None
        return cls(path, already_delivered, _read_only=True)

    def _read_ledger_id(self, version: int) -> str:
        """The ledger's id (part of every Message-ID), minted once when the journal is created or upgraded."""
        if self.read_only and version < 2:
            return ""
        row = self._db.execute("SELECT value FROM info WHERE name = 'ledger_id'").fetchone()
        if row:
            return str(row[0])
        if self.read_only:
            return ""
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO info (name, value) VALUES ('ledger_id', ?)", (secrets.token_hex(8),))
        return str(self._db.execute("SELECT value FROM info WHERE name = 'ledger_id'").fetchone()[0])

    @property
    def ledger_id(self) -> str:
        """This ledger's id: 16 hex digits, the same for the life of the journal ("" for an old journal read
        without upgrading it)."""
        return self._ledger_id

    # ------------------------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        while self._lock_depth:
            self._release()
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise JournalError(f"send journal {self.path} was opened for reading; nothing can be recorded")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ----------------------------------------------------------------------------------------- lock

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run lock (re-entrant for this object). Raises ``RunInProgressError`` at once if another
        process — or another ``Journal`` object on the same file — holds it."""
        self._acquire()
        try:
            yield
        finally:
            self._release()

    @property
    def locked(self) -> bool:
        return self._lock_depth > 0

    def _acquire(self) -> None:
        if self._lock_depth:
            self._lock_depth += 1
            return
        fd = open_private(self.lock_path)
        try:
            try_lock(fd)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunInProgressError(
                f"a run is already in progress{holder} (it holds {self.lock_path}); "
                "wait for it to finish and try again"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, str(os.getpid()).encode())
        except OSError:  # the holder's pid is a courtesy (Windows locks the first byte): never fatal
            pass
        self._lock_fd = fd
        self._lock_depth = 1

    def _release(self) -> None:
        self._lock_depth -= 1
        if self._lock_depth == 0 and self._lock_fd is not None:
            fd, self._lock_fd = self._lock_fd, None
            unlock(fd)
            os.close(fd)

    # ---------------------------------------------------------------------------------------- reads

    def get(self, key: str) -> JournalRecord | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM messages WHERE key = ?", (key,)).fetchone()
        return self._record(row) if row else None

    def records(self, keys: Iterable[str] | None = None, state: str | None = None) -> list[JournalRecord]:
        """All records (oldest first), or those of ``keys`` / in ``state``."""
        sql, args = f"SELECT {_COLUMNS} FROM messages", []
        where = []
        if state is not None:
            where.append("state = ?")
            args.append(state)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = [self._record(r) for r in self._db.execute(sql + " ORDER BY created_at, rowid", args)]
        if keys is not None:
            wanted = set(keys)
            rows = [r for r in rows if r.key in wanted]
        return rows

    def message_ids(self, keys: Iterable[str]) -> dict[str, str]:
        """The Message-ID already journaled for each of ``keys`` that has one (the journal's id wins: one key,
        one Message-ID, for the life of the ledger)."""
        wanted = set(keys)
        return {k: m for k, m in self._db.execute("SELECT key, message_id FROM messages") if k in wanted}

    def pending(self) -> list[JournalRecord]:
        """Messages recorded as intended and not yet confirmed sent (a later run sends or resolves them)."""
        return self.records(state=INTENDED)

    def unconfirmed(self) -> list[JournalRecord]:
        """Messages whose outcome is unknown: never resent unless a person asks (``resend_unconfirmed``)."""
        return self.records(state=UNCONFIRMED)

    def payload(self, key: str) -> bytes | None:
        """The message's bytes as stored when it was intended (kept while intended or unconfirmed)."""
        row = self._db.execute("SELECT payload FROM messages WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def counts(self) -> dict[str, int]:
        found = dict(self._db.execute("SELECT state, count(*) FROM messages GROUP BY state").fetchall())
        return {s: int(found.get(s, 0)) for s in STATES}

    # --------------------------------------------------------------------------------------- writes

    def intend(self, entries: Iterable[Mapping[str, Any]]) -> dict[str, JournalRecord]:
        """Record messages as ``intended`` (those not yet known), in one transaction, and return the record of
        every key given. Each entry has ``key``, ``message_id`` and optionally ``subject``, ``recipients``,
        ``meta`` and ``payload`` (the message's bytes, kept for a person's resend of an unconfirmed one). A key
        already journaled under another Message-ID, or a Message-ID already used by another key, raises
        ``ValueError`` and records nothing."""
        entries = list(entries)
        now = _now()
        with self._transaction() as db:
            for e in entries:
                row = db.execute(
                    "SELECT key, message_id FROM messages WHERE key = ? OR message_id = ?", (e["key"], e["message_id"])
                ).fetchall()
                if row:
                    if (e["key"], e["message_id"]) not in [tuple(r) for r in row]:
                        other = row[0]
                        raise ValueError(
                            f"message {e['key']!r} with Message-ID {e['message_id']} conflicts with journal entry "
                            f"{other[0]!r} (Message-ID {other[1]}): one key, one Message-ID"
                        )
                    if e.get("payload") is not None:  # a journal of an older cobro kept no bytes
                        db.execute("UPDATE messages SET payload = ? WHERE key = ? AND payload IS NULL AND state IN "
                                   "('intended', 'unconfirmed')", (e["payload"], e["key"]))
                    continue
                db.execute(
                    "INSERT INTO messages (key, message_id, state, subject, recipients, meta, created_at, updated_at,"
                    " payload) VALUES (?, ?, 'intended', ?, ?, ?, ?, ?, ?)",
                    (
                        e["key"],
                        e["message_id"],
                        e.get("subject", ""),
                        json.dumps(list(e.get("recipients", ()))),
                        json.dumps(e.get("meta", {}), default=_json_default, ensure_ascii=False),
                        now,
                        now,
                        e.get("payload"),
                    ),
                )
        found: dict[str, JournalRecord] = {}
        for e in entries:
            rec = self.get(e["key"])
            assert rec is not None
            found[e["key"]] = rec
        return found

    def start_attempt(self, key: str, sent_key: str | None = None, sent_reason: str = "") -> None:
        """Committed before an SMTP transaction for ``key``: in flight (the server may get it from now on), one
        more attempt. ``sent_key``, if given, is marked sent in the same transaction (one fsync per message on
        the happy path: the previous message's confirmation and the next one's intent)."""
        now = _now()
        with self._transaction() as db:
            if sent_key is not None:
                self._set(db, sent_key, _SENT, now, sent_reason)
            self._set(db, key, "in_flight = 1, in_flight_at = :now, attempts = attempts + 1", now, "")

    def set_in_flight(self, key: str, in_flight: bool, reason: str = "") -> None:
        """Record whether the server may hold ``key`` after a failed try (``False``: it answered or the content
        was never sent), with the reason of the last failure."""
        self._update(key, f"in_flight = {int(bool(in_flight))}, reason = :reason", reason=reason)

    def mark_sent(self, key: str, reason: str = "") -> None:
        """Committed right after the server accepted the message (or a probe confirmed it has it)."""
        self._update(key, _SENT, reason=reason)

    def mark_failed(self, key: str, reason: str) -> None:
        """Permanent: refused by the server (5xx) or invalid. Never retried."""
        self._update(key, "state = 'failed', in_flight = 0, failed_at = :now, reason = :reason, payload = NULL",
                     reason=reason)

    def mark_unconfirmed(self, key: str, reason: str) -> None:
        """The server may or may not hold it and cannot be asked: never resent unless a person asks."""
        self._update(key, "state = 'unconfirmed', in_flight = 1, reason = :reason", reason=reason)

    def reopen_unconfirmed(self, key: str, reason: str) -> None:
        """A person chose to resend an unconfirmed message: it is intended again (still in flight: the server
        may hold it), and its next outcome is logged as a new contact."""
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE messages SET state = 'intended', reason = :reason, logged_at = NULL, updated_at = :now "
                "WHERE key = :key AND state = 'unconfirmed'", {"reason": reason, "now": _now(), "key": key})
            if cur.rowcount != 1:
                raise JournalError(f"journal entry {key!r} is not unconfirmed; only an unconfirmed one can be resent")

    def accept_unconfirmed(self, key: str, reason: str = "a person chose not to resend it") -> None:
        """A person decided an unconfirmed message needs no resend (it arrived, or a call replaced it): it is
        recorded as sent and no longer listed. Its Contacts row (sent, unconfirmed) stays as it is."""
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE messages SET state = 'sent', in_flight = 0, sent_at = :now, reason = :reason, payload = NULL,"
                " updated_at = :now WHERE key = :key AND state = 'unconfirmed'",
                {"reason": f"{UNCONFIRMED}, then {reason}", "now": _now(), "key": key})
            if cur.rowcount != 1:
                raise JournalError(f"journal entry {key!r} is not unconfirmed")

    def mark_logged(self, keys: Iterable[str]) -> None:
        """The caller wrote these contacts to the workbook's log: later runs stop asking to log them."""
        now = _now()
        with self._transaction() as db:
            db.executemany(
                "UPDATE messages SET logged_at = ?, updated_at = ? WHERE key = ? AND logged_at IS NULL",
                [(now, now, k) for k in keys],
            )

    def _update(self, key: str, assignments: str, reason: str = "") -> None:
        with self._transaction() as db:
            self._set(db, key, assignments, _now(), reason)

    def _set(self, db: sqlite3.Connection, key: str, assignments: str, now: str, reason: str) -> None:
        """Update an ``intended`` record; anything else is a bug in the caller (the whole transaction rolls back)."""
        cur = db.execute(
            f"UPDATE messages SET {assignments}, updated_at = :now WHERE key = :key AND state = 'intended'",
            {"now": now, "key": key, "reason": reason},
        )
        if cur.rowcount != 1:
            row = db.execute("SELECT state FROM messages WHERE key = ?", (key,)).fetchone()
            state = row[0] if row else "not in the journal"
            raise JournalError(f"journal entry {key!r} is {state}; only an intended message can change state")

    @staticmethod
    def _record(row: tuple[Any, ...]) -> JournalRecord:
        (key, mid, state, in_flight, attempts, reason, subject, recipients, meta,
         created, updated, in_flight_at, sent_at, failed_at, logged_at) = row
        return JournalRecord(
            key=key,
            message_id=mid,
            state=state,
            in_flight=bool(in_flight),
            attempts=int(attempts),
            reason=reason,
            subject=subject,
            recipients=tuple(json.loads(recipients or "[]")),
            meta=json.loads(meta or "{}"),
            created_at=_ts(created),  # type: ignore[arg-type]
            updated_at=_ts(updated),  # type: ignore[arg-type]
            in_flight_at=_ts(in_flight_at),
            sent_at=_ts(sent_at),
            failed_at=_ts(failed_at),
            logged_at=_ts(logged_at),
        )


_SENT = "state = 'sent', in_flight = 0, sent_at = :now, reason = :reason, payload = NULL"


def _json_default(value: object) -> object:
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except (OSError, AttributeError):  # no pread on Windows
        return ""
    return f" (process {text})" if text.isdigit() else ""
