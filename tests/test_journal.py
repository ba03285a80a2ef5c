"""The send journal: states, durability settings, conflicts, logging marks and the run lock."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.journal import (
    FAILED,
    INTENDED,
    SENT,
    UNCONFIRMED,
    Journal,
    JournalError,
    RunInProgressError,
    journal_path_for,
)
from sync.store import LedgerLockedError


def entry(i: int, **extra: object) -> dict[str, object]:
    return {"key": f"C{i}|L1|2024-03-31", "message_id": f"<m{i}@example.com>", **extra}


def test_durability_settings_and_schema(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as j:
        assert j._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert j._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert j.counts() == {INTENDED: 0, SENT: 0, FAILED: 0, UNCONFIRMED: 0}


def test_intend_is_idempotent_and_persistent(tmp_path: Path) -> None:
    path = tmp_path / "data" / "j.sqlite"  # the folder is created
    with Journal(path) as j:
        recs = j.intend([entry(1, subject="Recordatorio", recipients=("a@b.es",), meta={"invoice_ids": ("F1", "F2")}),
                         entry(2)])
        assert {r.state for r in recs.values()} == {INTENDED}
        rec = recs["C1|L1|2024-03-31"]
        assert rec.subject == "Recordatorio" and rec.recipients == ("a@b.es",)
        assert rec.meta == {"invoice_ids": ["F1", "F2"]}
        assert rec.attempts == 0 and not rec.in_flight and rec.created_at.tzinfo is not None
        j.start_attempt("C1|L1|2024-03-31")
        again = j.intend([entry(1), entry(3)])  # known keys are returned as they are
        assert again["C1|L1|2024-03-31"].in_flight and again["C1|L1|2024-03-31"].attempts == 1
    with Journal(path) as j:  # a new process sees the same
        assert [r.key for r in j.pending()] == ["C1|L1|2024-03-31", "C2|L1|2024-03-31", "C3|L1|2024-03-31"]
        assert j.get("C1|L1|2024-03-31").in_flight  # type: ignore[union-attr]
        assert j.get("nope") is None


def test_conflicting_key_or_message_id_records_nothing(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as j:
        j.intend([entry(1)])
        with pytest.raises(ValueError, match="one key, one Message-ID"):
            j.intend([entry(5), {"key": "C1|L1|2024-03-31", "message_id": "<other@example.com>"}])
        with pytest.raises(ValueError, match="conflicts"):
            j.intend([{"key": "another", "message_id": "<m1@example.com>"}])
        assert [r.key for r in j.records()] == ["C1|L1|2024-03-31"]  # entry 5 rolled back too


def test_state_transitions(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as j:
        j.intend([entry(i) for i in range(4)])
        k = [f"C{i}|L1|2024-03-31" for i in range(4)]
        j.start_attempt(k[0])
        j.start_attempt(k[1], sent_key=k[0], sent_reason="ok")  # one transaction: 0 sent, 1 in flight
        r0, r1 = j.get(k[0]), j.get(k[1])
        assert r0 and r0.state == SENT and not r0.in_flight and r0.sent_at and r0.reason == "ok"
        assert r1 and r1.state == INTENDED and r1.in_flight and r1.attempts == 1 and r1.in_flight_at
        j.set_in_flight(k[1], False, "451 try later")
        r1 = j.get(k[1])
        assert r1 and not r1.in_flight and r1.reason == "451 try later"
        j.mark_failed(k[2], "550 no such user")
        r2 = j.get(k[2])
        assert r2 and r2.state == FAILED and r2.failed_at and r2.reason == "550 no such user"
        with pytest.raises(JournalError, match="only an intended message"):
            j.mark_sent(k[2])
        with pytest.raises(JournalError, match="only an intended message"):
            j.start_attempt(k[3], sent_key=k[2])  # the whole transaction rolls back ...
        r3 = j.get(k[3])
        assert r3 and r3.attempts == 0 and not r3.in_flight  # ... including k[3]'s attempt
        with pytest.raises(JournalError, match="not in the journal"):
            j.mark_sent("unknown")
        assert j.counts() == {INTENDED: 2, SENT: 1, FAILED: 1, UNCONFIRMED: 0}


def test_mark_logged(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as j:
        j.intend([entry(1), entry(2)])
        j.mark_sent("C1|L1|2024-03-31")
        j.mark_logged(["C1|L1|2024-03-31"])
        first = j.get("C1|L1|2024-03-31").logged_at  # type: ignore[union-attr]
        assert first is not None
        j.mark_logged(["C1|L1|2024-03-31"])  # logging twice keeps the first time
        assert j.get("C1|L1|2024-03-31").logged_at == first  # type: ignore[union-attr]
        assert j.get("C2|L1|2024-03-31").logged_at is None  # type: ignore[union-attr]


def test_lock_refuses_a_second_run_at_once(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as first, Journal(path) as second:
        with first.lock():
            with first.lock():  # re-entrant for the holder
                assert first.locked
            started = time.monotonic()
            with pytest.raises(RunInProgressError, match="a run is already in progress") as info:
                with second.lock():
                    pass
            assert time.monotonic() - started < 1.0  # non-blocking
            assert isinstance(info.value, LedgerLockedError)
            assert "process" in str(info.value)  # names the holder's pid
        assert not first.locked
        with second.lock():  # released
            pass


def test_lock_across_processes_and_released_by_death(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    ready = tmp_path / "ready"
    code = (
        "import sys, time; from pathlib import Path; from sync.journal import Journal\n"
        f"j = Journal({str(path)!r})\n"
        "with j.lock():\n"
        f"    Path({str(ready)!r}).write_text('x'); time.sleep(60)\n"
    )
    repo = Path(__file__).resolve().parents[1]
    child = subprocess.Popen([sys.executable, "-c", code], cwd=repo)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert time.monotonic() < deadline, "child never took the lock"
            time.sleep(0.02)
        with Journal(path) as j:
            with pytest.raises(RunInProgressError, match=f"a run is already in progress \\(process {child.pid}\\)"):
                with j.lock():
                    pass
            child.kill()  # kill -9: the kernel releases the lock
            child.wait()
            with j.lock():
                pass
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_unusable_files_give_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError, match="cannot be used"):
        Journal(bad)
    newer = tmp_path / "newer.sqlite"
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(JournalError, match="newer cobro"):
        Journal(newer)


def test_journal_path_for_workbook() -> None:
    assert journal_path_for(Path("/data/cobros 2024.xlsx")) == Path("/data/cobros 2024.cobro-journal.sqlite")


# ------------------------------------------------------------------------- issue 15: exactly once for real


def test_journal_and_lock_are_private(tmp_path: Path) -> None:
    """Recipients, subjects and invoice ids are readable by their owner only."""
    with Journal(tmp_path / "j.sqlite") as j, j.lock():
        j.intend([entry(1, recipients=("a@b.es",))])
        for f in (j.path, j.lock_path, Path(f"{j.path}-wal")):
            assert f.stat().st_mode & 0o777 == 0o600, f


def test_a_symlinked_workbook_has_the_journal_of_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real" / "cobros.xlsx"
    target.parent.mkdir()
    target.write_bytes(b"x")
    link = tmp_path / "enlace.xlsx"
    link.symlink_to(target)
    assert journal_path_for(link) == journal_path_for(target) == target.with_name("cobros.cobro-journal.sqlite")
    with Journal(journal_path_for(link)) as a, a.lock(), Journal(journal_path_for(target)) as b:
        with pytest.raises(RunInProgressError):  # one ledger, one lock, whatever path names it
            b._acquire()


def test_ledger_id_is_minted_once_and_kept(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as j:
        first = j.ledger_id
    with Journal(tmp_path / "j.sqlite") as j:
        assert j.ledger_id == first and len(first) == 16
    with Journal(tmp_path / "other.sqlite") as j:
        assert j.ledger_id != first


def test_unconfirmed_is_kept_apart_until_a_person_resends(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as j:
        j.intend([entry(1, payload=b"bytes of the message")])
        j.start_attempt("C1|L1|2024-03-31")
        j.mark_unconfirmed("C1|L1|2024-03-31", "connection lost after the content was sent")
        (rec,) = j.unconfirmed()
        assert rec.state == UNCONFIRMED and rec.in_flight and j.pending() == []
        assert j.payload(rec.key) == b"bytes of the message"
        j.mark_logged([rec.key])
        j.reopen_unconfirmed(rec.key, "resent at a person's request")
        rec = j.get(rec.key)
        assert rec is not None and rec.state == INTENDED and rec.logged_at is None
        j.mark_sent(rec.key)
        assert j.payload(rec.key) is None  # bytes are kept only while a resend may need them
        with pytest.raises(JournalError):
            j.reopen_unconfirmed(rec.key, "again")
        j.intend([entry(2, payload=b"x")])
        j.start_attempt("C2|L1|2024-03-31")
        j.mark_unconfirmed("C2|L1|2024-03-31", "unconfirmed: connection lost")
        j.accept_unconfirmed("C2|L1|2024-03-31")  # a person chose not to resend it
        accepted = j.get("C2|L1|2024-03-31")
        assert accepted is not None and accepted.state == SENT and "chose not to resend" in accepted.reason
        assert j.unconfirmed() == [] and j.payload(accepted.key) is None


def test_a_version_1_journal_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE messages (key TEXT PRIMARY KEY, message_id TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL CHECK (state IN ('intended', 'sent', 'failed')), in_flight INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '',
            recipients TEXT NOT NULL DEFAULT '', meta TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, in_flight_at TEXT, sent_at TEXT, failed_at TEXT, logged_at TEXT);
        INSERT INTO messages (key, message_id, state, in_flight, created_at, updated_at)
            VALUES ('k', '<m@example.com>', 'intended', 1, '2024-03-31T00:00:00+00:00', '2024-03-31T00:00:00+00:00');
        PRAGMA user_version=1;
    """)
    db.close()
    reader = Journal.reader(path)  # a preview reads an old journal without changing it
    assert reader is not None and reader.ledger_id == "" and reader.pending()[0].key == "k"
    reader.close()
    with Journal(path) as j:
        assert j._db.execute("PRAGMA user_version").fetchone()[0] == 2 and j.ledger_id
        j.mark_unconfirmed("k", "interrupted")
        assert j.counts()[UNCONFIRMED] == 1


def test_reader_takes_no_lock_and_writes_nothing(tmp_path: Path) -> None:
    assert Journal.reader(tmp_path / "none.sqlite") is None and not (tmp_path / "none.sqlite").exists()
    with Journal(tmp_path / "j.sqlite") as j, j.lock():
        j.intend([entry(1)])
        reader = Journal.reader(j.path)  # while a run holds the lock
        assert reader is not None and [r.key for r in reader.pending()] == ["C1|L1|2024-03-31"]
        with pytest.raises(JournalError, match="opened for reading"):
            reader.mark_logged(["C1|L1|2024-03-31"])
        reader.close()
