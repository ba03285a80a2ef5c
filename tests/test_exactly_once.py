"""Exactly once, proven against a real SMTP server on loopback: kill -9 of the sender at random points, a server
that drops connections, a server that is down or crashes mid-batch, and two runs at once.

"Delivered" is what the server says it received: the Message-IDs it accepted (``SmtpTestServer.counts``), or the
.eml files of the embedded sink's outbox.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.config import SmtpConfig
from sync.journal import INTENDED, SENT, Journal, RunInProgressError
from sync.mailer import PENDING, resend_unconfirmed, send_batch
from sync.smtp_sink import message_id_of
from tests.smtp_helpers import SmtpTestServer, Zygote, free_port, make_messages

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def quick_thread_switches() -> Iterator[None]:
    """Server and sender share this process in several tests: switch threads more often than every 5 ms."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    yield
    sys.setswitchinterval(before)


def spawn_sender(journal: Path, count: int, prefix: str, *, port: int = 0, outbox: Path | None = None,
                 ready: Path | None = None) -> subprocess.Popen[str]:
    """``python -m tests.smtp_helpers send ...`` in a child process (the one we kill)."""
    cmd = [sys.executable, "-m", "tests.smtp_helpers", "send", "--journal", str(journal), "--count", str(count),
           "--prefix", prefix, "--port", str(port)]
    if outbox is not None:
        cmd += ["--outbox", str(outbox)]
    if ready is not None:
        cmd += ["--ready", str(ready)]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             child: subprocess.Popen[str] | None = None, done: Callable[[], bool] | None = None) -> None:
    """Poll ``condition`` every 2 ms; give up quietly when the sender has ended (checked every 40 ms)."""
    deadline = time.monotonic() + timeout
    tick = 0
    while not condition():
        tick += 1
        if tick % 20 == 0 and ((child is not None and child.poll() is not None) or (done is not None and done())):
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def kill(child: subprocess.Popen[str]) -> None:
    try:
        os.kill(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def assert_exactly_once(counts: Counter[str], expected: list[str]) -> None:
    twice = {mid: n for mid, n in counts.items() if n > 1}
    assert not twice, f"delivered more than once: {twice}"
    missing = set(expected) - set(counts)
    assert not missing, f"{len(missing)} never delivered"
    assert set(counts) == set(expected)


# ------------------------------------------------------------------------------------------ kill -9


def kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.slow
def test_kill_9_at_random_points_then_rerun_delivers_each_message_exactly_once(tmp_path: Path) -> None:
    """20 trials: a sender process sends 500 messages and is killed (SIGKILL) at a random point — right after the
    server stored a message and before it answered (the critical window), after a random number of messages, or
    after a random delay; then a rerun (another process) with the same journal. The server must hold 500
    distinct Message-IDs, none twice. Senders are forked from a ``Zygote`` so a trial does not pay start-up."""
    rng = random.Random(20240331)
    n = 500
    modes = ["accepted", "received", "delay"]
    killed_mid_batch = 0
    confirmed_by_probe = 0
    with Zygote() as zygote:
        for trial in range(20):
            mode = modes[trial % len(modes)]
            kill_at = rng.randint(1, n - 1)
            prefix = f"k{trial}"
            folder = tmp_path / f"trial{trial}"
            folder.mkdir()
            journal_path = folder / "journal.sqlite"
            holder: dict[str, int] = {}

            def on_accept(message_id: str, count: int, mode: str = mode, kill_at: int = kill_at,
                          holder: dict[str, int] = holder) -> None:
                if mode == "accepted" and count == kill_at:
                    kill_pid(holder["pid"])  # the server has it; the sender never hears the 250

            with SmtpTestServer(on_accept=on_accept) as srv:
                pid = holder["pid"] = zygote.spawn(folder / "first.json", journal=str(journal_path), count=n,
                                                   prefix=prefix, port=srv.port)
                done = lambda: zygote.poll(pid) is not None  # noqa: E731, B023
                if mode == "received":
                    wait_for(lambda: len(srv.handler.received) >= kill_at, 120, "messages", done=done)  # noqa: B023
                elif mode == "delay":
                    wait_for(lambda: len(srv.handler.received) >= 1, 120, "the first one", done=done)  # noqa: B023
                    time.sleep(rng.uniform(0.0, 0.5))
                if mode != "accepted" and not done():
                    kill_pid(pid)
                status = zygote.wait(pid)
                killed_mid_batch += status == -signal.SIGKILL and len(srv.received) < n
                srv.wait_idle()  # the dead sender's connection is fully processed
                with Journal(journal_path) as journal:
                    assert sum(r.in_flight for r in journal.pending()) <= 1, "at most one message in flight"
                delivered = folder / "delivered.txt"
                delivered.write_text("\n".join(srv.received))  # the probe, for the rerun in another process
                rerun = zygote.spawn(folder / "rerun.json", journal=str(journal_path), count=n, prefix=prefix,
                                     port=srv.port, delivered_file=str(delivered))
                assert zygote.wait(rerun) == 0
                report = json.loads((folder / "rerun.json").read_text())
                assert report["ok"], report
                counts = srv.counts
            messages = make_messages(n, prefix)
            assert_exactly_once(counts, [m.message_id for m in messages])
            assert sum(counts.values()) == n
            with Journal(journal_path) as journal:
                records = journal.records()
            assert {r.state for r in records} == {SENT} and len(records) == n
            confirmed_by_probe += sum("confirmed with the server" in r.reason for r in records)
    assert killed_mid_batch >= 15, f"only {killed_mid_batch} of 20 trials were killed mid-batch"
    assert confirmed_by_probe >= 5  # the "accepted" trials: stored by the server, resolved without a resend


@pytest.mark.slow
def test_kill_9_with_the_embedded_sink(tmp_path: Path) -> None:
    """The demo path: sender and local sink in one process, killed together; the rerun's sink reads the outbox."""
    rng = random.Random(7)
    n = 200
    with Zygote() as zygote:
        for trial in range(5):
            folder = tmp_path / f"trial{trial}"
            folder.mkdir()
            outbox = folder / "outbox"
            journal_path = folder / "journal.sqlite"
            kill_at = rng.randint(1, n - 1)
            pid = zygote.spawn(folder / "first.json", journal=str(journal_path), count=n, prefix=f"s{trial}",
                               outbox=str(outbox))
            wait_for(lambda: outbox.exists() and len(list(outbox.glob("*.eml"))) >= kill_at,  # noqa: B023
                     120, "outbox files", done=lambda: zygote.poll(pid) is not None)  # noqa: B023
            if zygote.poll(pid) is None:
                kill_pid(pid)
            zygote.wait(pid)
            rerun = zygote.spawn(folder / "rerun.json", journal=str(journal_path), count=n, prefix=f"s{trial}",
                                 outbox=str(outbox))
            assert zygote.wait(rerun) == 0
            assert json.loads((folder / "rerun.json").read_text())["ok"]
            files = list(outbox.glob("*.eml"))
            counts = Counter(message_id_of(p.read_bytes()) for p in files)
            assert_exactly_once(counts, [m.message_id for m in make_messages(n, f"s{trial}")])
            assert len(files) == n and not list(outbox.glob(".*.part"))


def test_without_a_probe_an_interrupted_delivery_is_unconfirmed_never_resent(tmp_path: Path) -> None:
    """A real SMTP server cannot be asked. Killed after the server stored message 30 and before it answered,
    the rerun does not send that message again (issue 15: a second reminder is worse than a late one): it is
    *unconfirmed*, listed as such, and only a person's ``resend_unconfirmed`` sends it — the same bytes, the same
    Message-ID."""
    n, kill_at = 60, 30
    journal_path = tmp_path / "journal.sqlite"
    holder: dict[str, subprocess.Popen[str]] = {}

    def on_accept(message_id: str, count: int) -> None:
        if count == kill_at:
            kill(holder["child"])

    with SmtpTestServer(on_accept=on_accept) as srv:
        child = holder["child"] = spawn_sender(journal_path, n, "np", port=srv.port)
        child.wait(timeout=120)
        assert child.returncode == -signal.SIGKILL
        srv.wait_idle()
        messages = make_messages(n, "np")
        with Journal(journal_path) as journal:  # no probe
            (in_flight,) = [r for r in journal.pending() if r.in_flight]
            result = send_batch(messages, journal, srv.config())
            assert not result.ok and not result.error
            (unconfirmed,) = result.unconfirmed
            assert unconfirmed.key == in_flight.key and "unconfirmed" in unconfirmed.reason
            assert unconfirmed in result.to_log()  # logged as such in Contacts
            assert "1 unconfirmed" in result.summary()
            assert len(send_batch(messages, journal, srv.config()).unconfirmed) == 1  # still not resent
        counts = srv.counts
        assert max(counts.values()) == 1 and len(counts) == n  # the server got each one once
        with Journal(journal_path) as journal:  # a person chooses to resend it
            again = resend_unconfirmed(journal, srv.config())
            assert [r.status for r in again.results] == [SENT] and again.results[0].needs_log
            assert "at a person's request" in again.results[0].reason
            assert journal.unconfirmed() == []
        assert srv.counts[in_flight.message_id] == 2
        first, second = [raw for raw in srv.handler.raw if message_id_of(raw) == in_flight.message_id]
        assert first == second  # exactly the message the server may already have shown


def test_a_server_that_drops_the_connection_after_accepting_never_gets_a_duplicate(tmp_path: Path) -> None:
    """Issue 15: every connection is cut (after 0-3 messages: more than 20 % of transactions) after the server
    stored the message and before its 250. Without a probe, 0 duplicates: every such message is unconfirmed and
    listed; everything else is sent once."""
    messages = make_messages(150, "acc")
    with SmtpTestServer(drop_every=1, drop_stages=("accepted",), max_per_connection=4, seed=3) as srv:
        with Journal(tmp_path / "journal.sqlite") as journal:
            result = send_batch(messages, journal, srv.config(max_attempts=5))
            assert not result.error
            unconfirmed = {r.message_id for r in result.unconfirmed}
            assert unconfirmed and unconfirmed == set(srv.handler.received) - {r.message_id for r in result.sent}
            assert {r.message_id for r in journal.unconfirmed()} == unconfirmed
        assert max(srv.counts.values()) == 1 and len(srv.counts) == len(messages)


@pytest.mark.parametrize("pipelining", [True, False])
def test_journal_is_on_disk_before_the_server_has_the_message(tmp_path: Path, pipelining: bool) -> None:
    """The order that makes crashes safe, seen from outside (another SQLite connection) at the moment the server
    stores message k: k is committed in flight, every earlier message is committed sent, no later one started."""
    journal_path = tmp_path / "journal.sqlite"
    messages = make_messages(40, f"order{pipelining}")
    keys = {m.message_id: m.key for m in messages}
    seen: list[str] = []

    def on_accept(message_id: str, count: int) -> None:
        db = sqlite3.connect(journal_path)
        rows = dict(((k, (state, flight)) for k, state, flight in db.execute(
            "SELECT key, state, in_flight FROM messages")))
        db.close()
        k = count - 1
        assert rows[keys[message_id]] == ("intended", 1), f"message {k} not committed in flight"
        assert all(rows[messages[i].key] == ("sent", 0) for i in range(k)), f"an earlier one not sent at {k}"
        assert all(rows[messages[i].key] == ("intended", 0) for i in range(k + 1, len(messages)))
        seen.append(message_id)

    with SmtpTestServer(on_accept=on_accept, pipelining=pipelining) as srv:
        with Journal(journal_path) as journal:
            result = send_batch(messages, journal, srv.config())
    assert result.ok and len(seen) == len(messages)  # a failed check makes the server answer with an error


# ---------------------------------------------------------------------------------- flaky servers


@pytest.mark.parametrize("pipelining", [True, False])
def test_server_dropping_one_connection_in_five(tmp_path: Path, pipelining: bool) -> None:
    """Every fifth connection is cut — before MAIL, after the content but before storing, or after storing but
    before answering — and the server closes each connection after 20 messages (421), as real ones do."""
    messages = make_messages(300, f"drop{pipelining}")
    with SmtpTestServer(drop_every=5, max_per_connection=20, seed=5, pipelining=pipelining) as srv:
        with Journal(tmp_path / "journal.sqlite", already_delivered=srv.already_delivered) as journal:
            result = send_batch(messages, journal, srv.config(max_attempts=5))
        assert result.ok, result.summary()
        assert_exactly_once(srv.counts, [m.message_id for m in messages])
        assert srv.handler.connections >= 15
        assert len(srv.handler.drops) >= 3 and set(srv.handler.drops) == {"mail", "data", "accepted"}
        assert srv.received == [m.message_id for m in messages]  # and still in order


def test_smtp_down_nothing_lost_then_delivered_once(tmp_path: Path) -> None:
    port = free_port()
    messages = make_messages(40, "down")
    journal_path = tmp_path / "journal.sqlite"
    config = SmtpConfig(host="127.0.0.1", port=port, security="none", max_attempts=2, backoff=0.01)
    with Journal(journal_path) as journal:
        result = send_batch(messages, journal, config)
        assert result.error.startswith(
            f"SMTP server unreachable at 127.0.0.1:{port}; 40 messages pending, nothing lost")
        assert [r.status for r in result.results] == [PENDING] * 40 and result.to_log() == []
        pending = journal.pending()
        assert len(pending) == 40 and not any(r.in_flight for r in pending)
        assert {r.state for r in pending} == {INTENDED}
    with SmtpTestServer(port=port) as srv:  # the server is back: a later run sends them
        with Journal(journal_path, already_delivered=srv.already_delivered) as journal:
            result = send_batch(messages, journal, srv.config())
        assert result.ok and len(result.sent) == 40
        assert_exactly_once(srv.counts, [m.message_id for m in messages])


def test_server_crash_mid_batch_then_rerun(tmp_path: Path) -> None:
    """The server goes away after 25 messages while a child process sends 120: the child ends with everything
    else pending and says so; when the server is back, a rerun delivers the rest, none twice."""
    n = 120
    journal_path = tmp_path / "journal.sqlite"
    with SmtpTestServer(delay=0.01) as srv:
        child = spawn_sender(journal_path, n, "crash", port=srv.port)
        wait_for(lambda: len(srv.received) >= 25, 120, "25 messages", child)
        srv.stop()
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        report = json.loads(out.strip().splitlines()[-1])
        assert report["error"].startswith(f"SMTP server unreachable at 127.0.0.1:{srv.port};")
        assert "messages pending, nothing lost" in report["error"]
        srv.restart()
        messages = make_messages(n, "crash")
        with Journal(journal_path, already_delivered=srv.already_delivered) as journal:
            result = send_batch(messages, journal, srv.config())
        assert result.ok
        assert_exactly_once(srv.counts, [m.message_id for m in messages])


def test_two_runs_at_once_one_refuses(tmp_path: Path) -> None:
    n = 80
    journal_path = tmp_path / "journal.sqlite"
    ready = tmp_path / "locked"
    messages = make_messages(n, "two")
    with SmtpTestServer(delay=0.02) as srv:
        child = spawn_sender(journal_path, n, "two", port=srv.port, ready=ready)
        wait_for(ready.exists, 120, "the first run to take the lock", child)
        assert child.poll() is None
        started = time.monotonic()
        with Journal(journal_path, already_delivered=srv.already_delivered) as journal:
            with pytest.raises(RunInProgressError, match="a run is already in progress"):
                send_batch(messages, journal, srv.config())
        assert time.monotonic() - started < 5  # at once, not after the other run
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1])["summary"].startswith(f"{n} sent")
        with Journal(journal_path) as journal:  # afterwards the lock is free and nothing is resent
            assert len(send_batch(messages, journal, srv.config()).already_sent) == n
        assert_exactly_once(srv.counts, [m.message_id for m in messages])
