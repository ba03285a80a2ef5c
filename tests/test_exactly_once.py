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
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.config import SmtpConfig
from sync.journal import INTENDED, SENT, Journal, RunInProgressError
from sync.mailer import PENDING, send_batch
from sync.smtp_sink import local_sink, message_id_of
from tests.smtp_helpers import SmtpTestServer, free_port, make_messages

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


def wait_for(condition, timeout: float, what: str, child: subprocess.Popen[str] | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if child is not None and child.poll() is not None:
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


@pytest.mark.slow
def test_kill_9_at_random_points_then_rerun_delivers_each_message_exactly_once(tmp_path: Path) -> None:
    """20 trials: a child sends 500 messages and is killed (SIGKILL) at a random point — right after the server
    stored a message and before it answered (the critical window), after a random number of messages, or after
    a random delay; then a rerun with the same journal. The server must hold 500 distinct Message-IDs, none
    twice."""
    rng = random.Random(20240331)
    n = 500
    modes = ["accepted", "received", "delay"]
    killed_mid_batch = 0
    confirmed_by_probe = 0
    for trial in range(20):
        mode = modes[trial % len(modes)]
        kill_at = rng.randint(1, n - 1)
        prefix = f"k{trial}"
        journal_path = tmp_path / f"trial{trial}" / "journal.sqlite"
        holder: dict[str, subprocess.Popen[str]] = {}

        def on_accept(message_id: str, count: int, mode: str = mode, kill_at: int = kill_at,
                      holder: dict[str, subprocess.Popen[str]] = holder) -> None:
            if mode == "accepted" and count == kill_at:
                kill(holder["child"])  # the server has it; the sender never hears the 250

        with SmtpTestServer(on_accept=on_accept) as srv:
            child = holder["child"] = spawn_sender(journal_path, n, prefix, port=srv.port)
            try:
                if mode == "received":
                    wait_for(lambda: len(srv.handler.received) >= kill_at, 120, "messages", child)  # noqa: B023
                    kill(child)
                elif mode == "delay":
                    wait_for(lambda: len(srv.handler.received) >= 1, 120, "the first message", child)  # noqa: B023
                    time.sleep(rng.uniform(0.0, 0.4))
                    kill(child)
                child.wait(timeout=120)
            finally:
                kill(child)
                child.wait()
            was_killed = child.returncode == -signal.SIGKILL
            before = len(srv.received)
            killed_mid_batch += was_killed and before < n
            srv.wait_idle()  # the dead sender's connection is fully processed
            messages = make_messages(n, prefix)
            with Journal(journal_path, already_delivered=srv.already_delivered) as journal:
                in_flight = [r.key for r in journal.pending() if r.in_flight]
                assert len(in_flight) <= 1, "at most one message can be in flight at a crash"
                result = send_batch(messages, journal, srv.config())
                assert result.ok, result.summary()
                assert journal.counts()[SENT] == n
            confirmed_by_probe += sum("confirmed with the server" in r.reason for r in result.sent)
            assert_exactly_once(srv.counts, [m.message_id for m in messages])
            assert len(srv.received) == n
    assert killed_mid_batch >= 15, f"only {killed_mid_batch} of 20 trials were killed mid-batch"
    assert confirmed_by_probe >= 5  # the "accepted" trials: stored by the server, resolved without a resend


@pytest.mark.slow
def test_kill_9_with_the_embedded_sink(tmp_path: Path) -> None:
    """The demo path: sender and local sink in one process, killed together; the rerun's sink reads the outbox."""
    rng = random.Random(7)
    n = 200
    for trial in range(5):
        outbox = tmp_path / f"trial{trial}" / "outbox"
        journal_path = tmp_path / f"trial{trial}" / "journal.sqlite"
        child = spawn_sender(journal_path, n, f"s{trial}", outbox=outbox)
        kill_at = rng.randint(1, n - 1)
        try:
            wait_for(lambda: outbox.exists() and len(list(outbox.glob("*.eml"))) >= kill_at,  # noqa: B023
                     120, "outbox files", child)
            kill(child)
            child.wait(timeout=60)
        finally:
            kill(child)
            child.wait()
        messages = make_messages(n, f"s{trial}")
        with local_sink(outbox) as config, Journal(journal_path) as journal:
            result = send_batch(messages, journal, config)  # the probe comes with the sink's config
        assert result.ok, result.summary()
        files = list(outbox.glob("*.eml"))
        counts = Counter(message_id_of(p.read_bytes()) for p in files)
        assert_exactly_once(counts, [m.message_id for m in messages])
        assert len(files) == n and not list(outbox.glob(".*.part"))


def test_without_a_probe_the_residual_window_costs_one_resend_with_the_same_message_id(tmp_path: Path) -> None:
    """A real SMTP server cannot be asked. Killed after the server stored message 30 and before it answered,
    the rerun resends that one message — with the same Message-ID — and nothing else twice (see sync.journal)."""
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
        assert result.ok
        counts = srv.counts
        assert {mid for mid, c in counts.items() if c > 1} == {in_flight.message_id}
        assert counts[in_flight.message_id] == 2 and len(counts) == n
        (resent,) = [r for r in result.results if r.key == in_flight.key]
        assert "resent with the same Message-ID" in resent.reason


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
