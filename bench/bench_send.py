"""Benchmark: 1,000 reminders sent through the journal to a loopback SMTP server over one connection.

    .venv/bin/python bench/bench_send.py [--count 1000] [--no-sink]

Generates realistic reminders (HTML + text, ~5 KB each, a statement table of a few invoices), then:

1. sends them to an aiosmtpd server running in a separate process on 127.0.0.1 (like a real local MTA; it
   counts Message-IDs and connections), with the crash-safe journal (two fsync'd commits per message);
2. sends them again with the same journal: every message is skipped as already sent;
3. sends them to the embedded local sink (same process; each message written and fsync'd as an .eml file).

Prints the time and messages per second of each. Target: step 1 in at most 10 s for 1,000 messages.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sync.journal import Journal  # noqa: E402
from sync.mailer import OutgoingMessage, message_id_for, send_batch  # noqa: E402
from sync.smtp_sink import LoopbackController, advertise_pipelining, local_sink, message_id_of  # noqa: E402

ROW = "<tr><td>{n}</td><td>{due}</td><td style='text-align:right'>{amount} EUR</td><td>{days} días</td></tr>"


def make_reminders(count: int) -> list[OutgoingMessage]:
    out = []
    for i in range(count):
        key = f"C{i:05d}|L2|2024-04-15"
        rows = "".join(
            ROW.format(n=f"F-2024-{i:05d}-{k}", due=f"2024-03-{k + 1:02d}", amount=f"{1000 + 37 * k},{k:02d}",
                       days=45 - k)
            for k in range(6)
        )
        html = (
            "<html><body style='font-family:sans-serif'><p>Estimado/a cliente,</p>"
            "<p>Le recordamos que las siguientes facturas están pendientes de pago:</p>"
            f"<table border='1' cellpadding='4'><tr><th>Factura</th><th>Vencimiento</th><th>Importe</th>"
            f"<th>Retraso</th></tr>{rows}</table>"
            "<p>Puede pagar por transferencia a ES91 2100 0418 4502 0005 1332 indicando el número de factura.</p>"
            "<p>Si ya ha realizado el pago, por favor ignore este mensaje.</p>"
            "<p>Atentamente,<br>Cobros Ejemplo S.L.</p>"
            + "<p style='color:#888;font-size:small'>" + "Aviso legal. " * 60 + "</p></body></html>"
        )
        text = (
            "Estimado/a cliente,\n\nLe recordamos que las siguientes facturas están pendientes de pago:\n"
            + "".join(f"  F-2024-{i:05d}-{k}  vence 2024-03-{k + 1:02d}  {1000 + 37 * k},{k:02d} EUR\n"
                      for k in range(6))
            + "\nPuede pagar por transferencia a ES91 2100 0418 4502 0005 1332.\n\nAtentamente,\nCobros Ejemplo S.L.\n"
        )
        out.append(
            OutgoingMessage(
                key=key,
                message_id=message_id_for(key, "cobros.example.com"),
                sender="cobros@cobros.example.com",
                sender_name="Cobros Ejemplo S.L.",
                reply_to="administracion@cobros.example.com",
                to=(f"pagos{i}@cliente{i % 97}.example.net",),
                cc=(f"contabilidad{i}@cliente{i % 97}.example.net",),
                subject=f"Recordatorio de pago — 6 facturas vencidas (cliente C{i:05d})",
                html=html,
                text=text,
                meta={"customer_id": f"C{i:05d}", "level": "L2", "invoice_ids": tuple(f"F-{k}" for k in range(6))},
            )
        )
    return out


class _Counter:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        self.connections += 1
        return advertise_pipelining(session, hostname, responses)  # as real MTAs do

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        self.ids.append(message_id_of(envelope.original_content or envelope.content))
        return "250 2.0.0 OK"


def serve() -> None:
    """Child mode: a counting SMTP server; prints its port, and its counts when stdin closes."""
    handler = _Counter()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    handler.connections = 0
    print(controller.port, flush=True)
    sys.stdin.read()
    controller.stop()
    print(json.dumps({"received": len(handler.ids), "distinct": len(set(handler.ids)),
                      "connections": handler.connections}), flush=True)


def commit_latency(folder: Path, n: int = 200) -> float:
    """Milliseconds per fsync'd SQLite commit (WAL, synchronous=FULL) on this disk: the journal's floor."""
    import sqlite3

    db = sqlite3.connect(folder / "latency.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    t = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?, 'x')", (i,))
        db.execute("COMMIT")
    db.close()
    return (time.perf_counter() - t) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--no-sink", action="store_true", help="skip the embedded sink run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    t0 = time.perf_counter()
    messages = make_reminders(args.count)
    size = sum(len(m.html) + len(m.text) for m in messages) / len(messages)
    print(f"generated {len(messages)} reminders (avg body {size / 1024:.1f} KB) in {time.perf_counter() - t0:.2f} s")
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)
    assert server.stdout is not None and server.stdin is not None
    port = int(server.stdout.readline())
    from sync.config import SmtpConfig

    config = SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=10)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"this disk: {commit_latency(Path(tmp)):.2f} ms per fsync'd journal commit (one per message); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        with Journal(Path(tmp) / "journal.sqlite") as journal:
            cpu = resource.getrusage(resource.RUSAGE_SELF)
            t = time.perf_counter()
            result = send_batch(messages, journal, config)
            elapsed = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_SELF)
            server.stdin.close()
            stats = json.loads(server.stdout.readline())
            server.wait()
            server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            client_cpu = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
            print(f"loopback SMTP server (separate process): {len(result.sent)} sent in {elapsed:.2f} s = "
                  f"{len(result.sent) / elapsed:.0f} messages/s; server received {stats['received']} "
                  f"({stats['distinct']} distinct Message-IDs) over {stats['connections']} connection(s); "
                  f"target <= 10 s: {'OK' if elapsed <= 10 else 'MISSED'}")
            print(f"  CPU: sender {client_cpu:.2f} s, server {server_cpu.ru_utime + server_cpu.ru_stime:.2f} s "
                  f"(whole server process, start-up included)")
            t = time.perf_counter()
            again = send_batch(messages, journal, config)
            elapsed = time.perf_counter() - t
            print(f"rerun with the same journal: {len(again.already_sent)} already sent, skipped in {elapsed:.2f} s "
                  "(no connection made)")
        if not args.no_sink:
            with local_sink(Path(tmp) / "outbox") as sink, Journal(Path(tmp) / "sink-journal.sqlite") as journal:
                t = time.perf_counter()
                result = send_batch(messages, journal, sink)
                elapsed = time.perf_counter() - t
            files = len(list((Path(tmp) / "outbox").glob("*.eml")))
            print(f"embedded local sink (same process, fsync per .eml): {len(result.sent)} sent in {elapsed:.2f} s = "
                  f"{len(result.sent) / elapsed:.0f} messages/s; {files} .eml files")


if __name__ == "__main__":
    main()
