"""Crash trials of "exactly once" with real processes (issue 15): kill -9 of ``cobro remind`` at random points of
a batch, and an SMTP server that drops the connection after accepting a message.

    .venv/bin/python bench/bench_crash.py [--trials 20] [--messages 300] [--delay 0.01] [--drop-rate 0.2]

Every trial builds a ledger of N customers, each with one invoice due that day (N reminders), and runs the real
command line (``cobro remind LEDGER --as-of DAY``) as a child process against an SMTP server running in a
*separate process* (aiosmtpd on loopback, ``--delay`` seconds per message, every accepted Message-ID appended to
a log). The server cannot be asked what it holds, as a real relay cannot.

1. kill -9 trials: the sender is killed (SIGKILL) at a random point — after a random number of messages reached
   the server, at a random moment of the run, or while the workbook is being written after the last message —
   then the same command runs again to the end. Counted per trial: duplicates (a Message-ID the server got twice),
   lost (a customer whose reminder the server never got and that is not listed as unconfirmed), unconfirmed (listed
   for a person to decide), corrupt workbooks (it no longer opens or validates), Contacts rows per message
   (exactly one each), backups kept.
2. drop trial: the server drops the connection right after storing a message, before answering 250, in
   ``--drop-rate`` of the transactions; one run. Counted: duplicates, unconfirmed listed (= the messages the server
   holds whose 250 never arrived), Contacts rows.

Prints the figures; exits 1 if any duplicate, lost message or corrupt workbook was seen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import datetime as dt  # noqa: E402

DUE = dt.date(2026, 3, 2)


# ------------------------------------------------------------------------------------- the SMTP server


def serve(port_file: Path, log: Path, delay: float, drop_rate: float, seed: int) -> None:
    """A loopback SMTP server in this process until killed: logs each accepted Message-ID (one line, flushed
    before the reply), sleeps ``delay`` per message, drops the connection after storing in ``drop_rate``."""
    from sync.smtp_sink import LoopbackController, advertise_pipelining, message_id_of

    rng = random.Random(seed)
    out = open(log, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the server's life

    class Handler:
        async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                              responses: list[str]) -> list[str]:
            return advertise_pipelining(session, hostname, responses)

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if delay:
                await asyncio.sleep(delay)
            mid = message_id_of(envelope.original_content or envelope.content)
            out.write(mid + "\n")
            out.flush()
            os.fsync(out.fileno())
            if drop_rate and rng.random() < drop_rate:
                server.transport.abort()  # stored, but the client never hears the 250
                return "451 dropped"
            return "250 2.0.0 OK"

    controller = LoopbackController(Handler(), hostname="127.0.0.1", port=0)
    controller.start()
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(controller.port))
    tmp.replace(port_file)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


class ServerProcess:
    def __init__(self, folder: Path, delay: float, drop_rate: float = 0.0, seed: int = 0) -> None:
        self.log = folder / "received.log"
        self.log.touch()
        port_file = folder / "port"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port_file), "--log", str(self.log), "--delay", str(delay),
             "--drop-rate", str(drop_rate), "--seed", str(seed)], cwd=ROOT)
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the SMTP server process did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text())

    def received(self) -> list[str]:
        return [x for x in self.log.read_text().split("\n") if x]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


# ------------------------------------------------------------------------------------------- the ledger


def build_ledger(path: Path, customers: int) -> Path:
    """A real workbook: ``customers`` customers, each with one invoice due on ``DUE`` and a one-level ladder."""
    from cobro.defaults import default_templates
    from cobro.ledger import empty_ledger, make_frame, parse_settings
    from cobro.schema import CUSTOMERS, INVOICES, LEVELS
    from sheets_templates import build_workbook

    settings = parse_settings({"locale": "es", "company_name": "Suministros Demo S.L.", "sender_name": "Cobros",
                               "sender_email": "cobros@demo.example", "business_days_only": "no",
                               "timezone": "Europe/Madrid", "country": "ES"})
    ids = [f"C{i:04d}" for i in range(customers)]
    led = replace(
        empty_ledger(settings),
        customers=make_frame(CUSTOMERS, [{"customer_id": c, "name": f"Cliente {c} S.L.",
                                          "email": (f"ap.{c.lower()}@cliente.example",), "language": "es",
                                          "currency": "EUR", "status": "active"} for c in ids]),
        invoices=make_frame(INVOICES, [{"invoice_id": f"F-{c}", "customer_id": c,
                                        "issue_date": DUE - dt.timedelta(days=30), "due_date": DUE,
                                        "currency": "EUR", "amount": 121000 + i, "status": "open"}
                                       for i, c in enumerate(ids)]),
        levels=make_frame(LEVELS, [{"level": "due", "days": 0, "channel": "email", "template": "due",
                                    "stop": False}]),
        templates=default_templates())
    build_workbook(path, locale="es", ledger=led, as_of=DUE)
    return path


def remind_cmd(ledger: Path, *extra: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from cobro_cli import main; sys.exit(main())", "remind", str(ledger),
            "--as-of", DUE.isoformat(), *extra]


def child_env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COBRO_")}
    env.update(COBRO_SMTP_HOST="127.0.0.1", COBRO_SMTP_PORT=str(port), COBRO_SMTP_SECURITY="none",
               XDG_CONFIG_HOME="/nonexistent-cobro-bench", PYTHONPATH=str(ROOT))
    return env


# --------------------------------------------------------------------------------------------- checking


def inspect(ledger: Path, received: list[str], customers: int) -> dict[str, Any]:
    """The trial's figures, read from the server's log, the workbook and the journal."""
    from sync.journal import SENT, UNCONFIRMED, Journal, journal_path_for
    from sync.xlsx_store import XlsxStore

    counts = Counter(received)
    figures: dict[str, Any] = {"duplicates": sum(c - 1 for c in counts.values() if c > 1)}
    try:
        store = XlsxStore(ledger)
        led = store.load()
        figures["corrupt"] = 0
    except Exception as exc:  # noqa: BLE001 - a corrupt workbook is the figure we count
        figures.update(corrupt=1, corrupt_reason=f"{type(exc).__name__}: {exc}")
        return figures
    with Journal(journal_path_for(ledger)) as j:
        records = j.records()
    by_customer = {r.meta.get("customer_id"): r for r in records}
    unconfirmed = {r.message_id for r in records if r.state == UNCONFIRMED}
    sent = {r.message_id for r in records if r.state == SENT}
    figures["unconfirmed"] = len(unconfirmed)
    figures["unconfirmed_not_received"] = len(unconfirmed - set(counts))
    lost = 0
    for i in range(customers):
        rec = by_customer.get(f"C{i:04d}")
        if rec is None or (rec.message_id not in counts and rec.message_id not in unconfirmed):
            lost += 1
    figures["lost"] = lost
    figures["sent_not_received"] = len(sent - set(counts))  # the journal claims a delivery the server lacks
    email = led.contacts[led.contacts["channel"] == "email"]
    per_message = Counter(email["message_id"])
    figures["contact_rows"] = len(email)
    figures["contact_rows_twice"] = sum(1 for c in per_message.values() if c > 1)
    figures["contacts_missing"] = customers - len(per_message)
    figures["backups"] = len(list(store.backup_dir.glob("*"))) if store.backup_dir.exists() else 0
    return figures


# ------------------------------------------------------------------------------------------------ trials


def kill_trial(folder: Path, customers: int, delay: float, rng: random.Random, mode: str) -> dict[str, Any]:
    ledger = build_ledger(folder / "cobranza.xlsx", customers)
    server = ServerProcess(folder, delay)
    try:
        env = child_env(server.port)
        child = subprocess.Popen(remind_cmd(ledger), env=env, cwd=folder, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        kill_at = rng.randint(1, customers - 1)
        started = time.monotonic()
        if mode == "messages":  # after a random number of messages reached the server
            while len(server.received()) < kill_at and child.poll() is None:
                time.sleep(0.002)
        elif mode == "moment":  # a random moment of the sending (from the first message to the log's write)
            while not server.received() and child.poll() is None:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 1.5 * customers * delay))
        else:  # "logging": while the contacts are being written, after the last message
            while len(server.received()) < customers and child.poll() is None:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 1.0))
        killed = child.poll() is None
        if killed:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
        at = len(server.received())
        rerun = subprocess.run(remind_cmd(ledger), env=env, cwd=folder, capture_output=True, text=True,
                               timeout=600)
        figures = inspect(ledger, server.received(), customers)
        figures.update(mode=mode, killed=killed, killed_after=at, rerun_exit=rerun.returncode,
                       seconds=round(time.monotonic() - started, 2))
        if rerun.returncode != 0:
            figures["rerun_error"] = (rerun.stderr or rerun.stdout)[-500:]
        return figures
    finally:
        server.stop()


def drop_trial(folder: Path, customers: int, delay: float, drop_rate: float, seed: int) -> dict[str, Any]:
    ledger = build_ledger(folder / "cobranza.xlsx", customers)
    server = ServerProcess(folder, delay, drop_rate=drop_rate, seed=seed)
    try:
        env = child_env(server.port)
        started = time.monotonic()
        run = subprocess.run(remind_cmd(ledger, "--json"), env=env, cwd=folder, capture_output=True, text=True,
                             timeout=600)
        figures = inspect(ledger, server.received(), customers)
        data = json.loads(run.stdout) if run.returncode == 0 and run.stdout.strip() else {}
        listed = {u["message_id"] for u in data.get("unconfirmed", [])}
        figures.update(exit=run.returncode, listed_unconfirmed=len(listed),
                       seconds=round(time.monotonic() - started, 2))
        if run.returncode != 0:
            figures["error"] = (run.stderr or run.stdout)[-500:]
        return figures
    finally:
        server.stop()


def run_trials(trials: int, customers: int, delay: float, drop_rate: float, seed: int = 15,
               folder: Path | None = None, echo: bool = True) -> dict[str, Any]:
    """All trials; returns the totals (and prints each trial when ``echo``)."""
    rng = random.Random(seed)
    base = Path(folder or tempfile.mkdtemp(prefix="cobro-crash-"))
    modes = ["messages", "moment", "logging", "messages"]
    kills: list[dict[str, Any]] = []
    for t in range(trials):
        f = base / f"kill{t:02d}"
        f.mkdir(parents=True)
        fig = kill_trial(f, customers, delay, rng, modes[t % len(modes)])
        kills.append(fig)
        if echo:
            print(f"trial {t + 1:2d} [{fig['mode']:8s}] killed={fig['killed']!s:5s} "
                  f"after {fig['killed_after']:3d} msgs: "
                  f"dup={fig['duplicates']} lost={fig.get('lost', '?')} corrupt={fig['corrupt']} "
                  f"unconfirmed={fig.get('unconfirmed', '?')} "
                  f"(not at server: {fig.get('unconfirmed_not_received', '?')}) "
                  f"contacts={fig.get('contact_rows', '?')} twice={fig.get('contact_rows_twice', '?')} "
                  f"backups={fig.get('backups', '?')} rerun_exit={fig['rerun_exit']} {fig['seconds']}s", flush=True)
    f = base / "drop"
    f.mkdir(parents=True)
    drop = drop_trial(f, customers, delay, drop_rate, seed)
    totals = {
        "trials": trials,
        "killed_mid_run": sum(1 for k in kills if k["killed"]),
        "duplicates": sum(k["duplicates"] for k in kills),
        "lost": sum(k.get("lost", 0) for k in kills),
        "corrupt_workbooks": sum(k["corrupt"] for k in kills),
        "unconfirmed": sum(k.get("unconfirmed", 0) for k in kills),
        "unconfirmed_not_at_server": sum(k.get("unconfirmed_not_received", 0) for k in kills),
        "contact_rows_twice": sum(k.get("contact_rows_twice", 0) for k in kills),
        "contacts_missing": sum(k.get("contacts_missing", 0) for k in kills),
        "sent_not_received": sum(k.get("sent_not_received", 0) for k in kills),
        "trials_with_backups": sum(1 for k in kills if k.get("backups", 0) > 0),
        "rerun_failures": sum(1 for k in kills if k["rerun_exit"] != 0),
        "drop": drop,
        "folder": str(base),
    }
    return totals


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--messages", type=int, default=300)
    p.add_argument("--delay", type=float, default=0.01, help="seconds the server takes per message")
    p.add_argument("--drop-rate", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--serve", help=argparse.SUPPRESS)
    p.add_argument("--log", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(Path(args.serve), Path(args.log), args.delay, args.drop_rate, args.seed)
        return 0
    started = time.monotonic()
    t = run_trials(args.trials, args.messages, args.delay, args.drop_rate, args.seed)
    d = t["drop"]
    print(f"\nkill -9 trials: {t['trials']} x {args.messages} reminders, server {args.delay * 1000:.0f} ms/message "
          f"(separate process, cannot be asked)")
    print(f"  killed mid-run: {t['killed_mid_run']}; duplicates: {t['duplicates']}; lost: {t['lost']}; "
          f"corrupt workbooks: {t['corrupt_workbooks']}; backups kept in {t['trials_with_backups']} of {t['trials']}")
    print(f"  unconfirmed (listed, not resent): {t['unconfirmed']} (of which the server never got "
          f"{t['unconfirmed_not_at_server']}); Contacts rows twice: {t['contact_rows_twice']}; Contacts rows "
          f"missing: {t['contacts_missing']}; reruns failed: {t['rerun_failures']}")
    print(f"drop trial: the server drops {args.drop_rate:.0%} of transactions after storing, {args.messages} reminders")
    print(f"  duplicates: {d['duplicates']}; unconfirmed in the journal: {d.get('unconfirmed', '?')}; listed by "
          f"the run: {d.get('listed_unconfirmed', '?')}; lost: {d.get('lost', '?')}; Contacts rows: "
          f"{d.get('contact_rows', '?')} (twice: {d.get('contact_rows_twice', '?')}); exit {d['exit']}")
    print(f"total {time.monotonic() - started:.0f} s; trial folders in {t['folder']}")
    bad = t["duplicates"] or t["lost"] or t["corrupt_workbooks"] or d["duplicates"] or d.get("lost")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
