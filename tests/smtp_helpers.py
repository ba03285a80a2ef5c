"""Real SMTP servers on loopback for the tests (aiosmtpd, no mocks), and a child-process sender.

- ``SmtpTestServer``: records every accepted Message-ID (``received``, ``counts``) and implements the
  ``already_delivered`` probe. Variants by keyword: ``reject`` (550 for those addresses), ``tempfail`` (451 for
  an address the first N times), ``pipelining`` (advertise RFC 2920; default on), ``drop_every`` (one
  connection in N is cut at a random point, including after the message was stored and before the reply),
  ``max_per_connection`` (421 and close after N messages, as real servers do), ``delay`` (slow DATA), ``auth``
  (requires login), ``on_accept`` (called after a message is stored and before the reply: the kill -9 trials
  use it).
- ``free_port()``: a loopback port nobody listens on (a server that is down).
- ``make_messages(n, prefix)``: a deterministic batch.
- ``python -m tests.smtp_helpers send ...``: a sender in a child process (the one a test kills), and
  ``Zygote``: forks such senders from a process that imported everything once (fast kill -9 trials).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from sync.config import SmtpConfig
from sync.journal import Journal
from sync.mailer import OutgoingMessage, message_id_for, send_batch
from sync.smtp_sink import LoopbackController, advertise_pipelining, local_sink, message_id_of

REPO = Path(__file__).resolve().parents[1]
DROP_STAGES = ("mail", "data", "accepted")


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1 and localhost, made with the ``openssl`` command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def free_port() -> int:
    """A loopback TCP port with nothing listening on it (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RecordingHandler:
    def __init__(
        self,
        *,
        reject: Iterable[str] = (),
        tempfail: dict[str, int] | None = None,
        drop_every: int = 0,
        drop_stages: Iterable[str] = DROP_STAGES,
        max_per_connection: int = 0,
        delay: float = 0.0,
        on_accept: Callable[[str, int], None] | None = None,
        seed: int = 0,
        pipelining: bool = True,
    ) -> None:
        self.pipelining = pipelining
        self.lock = threading.Lock()
        self.received: list[str] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, tuple[str, ...]]] = []
        self.rcpt_attempts: Counter[str] = Counter()
        self.tls: list[bool] = []  # per received message: did it travel over TLS?
        self.reject = {a.lower() for a in reject}
        self.tempfail = {k.lower(): v for k, v in (tempfail or {}).items()}
        self.drop_every = drop_every
        self.drop_stages = tuple(drop_stages)
        self.max_per_connection = max_per_connection
        self.delay = delay
        self.on_accept = on_accept
        self.rng = random.Random(seed)
        self.connections = 0
        self.open_connections = 0
        self.drops: list[str] = []
        self.idle = threading.Event()
        self.idle.set()

    # connection bookkeeping (called by _RecordingSMTP)
    def opened(self, smtp: _RecordingSMTP) -> None:
        with self.lock:
            self.connections += 1
            self.open_connections += 1
            self.idle.clear()
            smtp.conn_no = self.connections
            smtp.accepted = 0
            smtp.drop_plan = None
            if self.drop_every and self.connections % self.drop_every == 1 % self.drop_every:
                # after 0-3 good messages, at the next stage in turn (so every stage is exercised)
                stage = self.drop_stages[(self.connections // self.drop_every) % len(self.drop_stages)]
                smtp.drop_plan = (self.rng.randint(0, 3), stage)

    def closed(self) -> None:
        with self.lock:
            self.open_connections -= 1
            if self.open_connections == 0:
                self.idle.set()

    def _drop_now(self, server: Any, stage: str) -> bool:
        plan = getattr(server, "drop_plan", None)
        if plan is None or plan[1] != stage or server.accepted < plan[0]:
            return False
        with self.lock:
            self.drops.append(stage)
        server.drop_plan = None
        server.transport.abort()
        return True

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        if self.pipelining:
            return advertise_pipelining(session, hostname, responses)
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.max_per_connection and server.accepted >= self.max_per_connection:
            server.loop.call_soon(server.transport.close)
            return "421 4.7.0 too many messages on this connection, reconnect"
        if self._drop_now(server, "mail"):
            return "451 dropped"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        addr = address.lower()
        with self.lock:
            self.rcpt_attempts[addr] += 1
            if addr in self.reject:
                return f"550 5.1.1 <{address}>: mailbox unavailable"
            if self.tempfail.get(addr, 0) > 0:
                self.tempfail[addr] -= 1
                return f"451 4.2.1 <{address}>: try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self._drop_now(server, "data"):
            return "451 dropped"
        content = envelope.original_content or envelope.content
        mid = message_id_of(content)
        with self.lock:
            self.received.append(mid)
            self.raw.append(content)
            self.envelopes.append((envelope.mail_from, tuple(envelope.rcpt_tos)))
            self.tls.append(session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None)
            count = len(self.received)
        server.accepted += 1
        if self.on_accept is not None:
            self.on_accept(mid, count)
        if self._drop_now(server, "accepted"):
            return "451 dropped"
        return "250 2.0.0 OK"


class _RecordingSMTP(SMTP):
    conn_no: int
    accepted: int
    drop_plan: tuple[int, str] | None

    def __init__(self, handler: RecordingHandler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.recorder = handler

    def connection_made(self, transport: Any) -> None:
        if self.transport is None:  # not the STARTTLS re-entry
            self.recorder.opened(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        self.recorder.closed()


class _TestController(LoopbackController):
    def factory(self) -> SMTP:
        return _RecordingSMTP(self.handler, **self.SMTP_kwargs)


class SmtpTestServer:
    """A recording SMTP server on 127.0.0.1 (a free port, or ``port``). Use as a context manager."""

    def __init__(
        self,
        port: int = 0,
        auth: dict[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
        ssl_context: ssl.SSLContext | None = None,
        smtputf8: bool = True,
        **handler_kwargs: Any,
    ) -> None:
        """``tls_context`` offers STARTTLS; ``ssl_context`` makes it an implicit-TLS server (like port 465);
        ``smtputf8=False`` does not offer SMTPUTF8 (RFC 6531: addresses with non-ASCII local parts)."""
        self.handler = RecordingHandler(**handler_kwargs)
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}  # aiosmtpd's Controller offers it by default
        if tls_context is not None:
            kwargs["tls_context"] = tls_context
        if ssl_context is not None:
            kwargs["ssl_context"] = ssl_context
        if auth is not None:
            self.logins: list[str] = []

            def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
                ok = isinstance(data, LoginPassword) and auth.get(data.login.decode()) == data.password.decode()
                if ok:
                    self.logins.append(data.login.decode())
                return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

            kwargs.update(authenticator=authenticator, auth_require_tls=False)
        self._kwargs = kwargs
        self.controller = _TestController(self.handler, hostname="127.0.0.1", port=port, **kwargs)
        self.host = "127.0.0.1"
        self.port = port

    def start(self) -> SmtpTestServer:
        self.controller.start()
        self.port = self.controller.port
        self.handler.idle.wait(5.0)  # the controller's own start-up probe connection is not a client
        with self.handler.lock:
            self.handler.connections = 0
        return self

    def stop(self) -> None:
        if self.controller._thread is not None:
            self.controller.stop()

    def restart(self) -> None:
        """Come back up on the same port, keeping what was received (after ``stop``: a server crash)."""
        self.controller = _TestController(self.handler, hostname="127.0.0.1", port=self.port, **self._kwargs)
        self.start()

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def config(self, **overrides: Any) -> SmtpConfig:
        """Settings to reach this server, with fast retries (no probe: pass it to the Journal)."""
        values: dict[str, Any] = dict(
            host=self.host, port=self.port, security="none", timeout=5.0, max_attempts=5, backoff=0.01,
            backoff_max=0.05,
        )
        values.update(overrides)
        return SmtpConfig(**values)

    def already_delivered(self, message_id: str) -> bool:
        with self.handler.lock:
            return message_id in self.handler.received

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no client connection is open (a killed client's connection is fully processed)."""
        if not self.handler.idle.wait(timeout):
            raise TimeoutError("the SMTP test server still has an open connection")

    @property
    def received(self) -> list[str]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def counts(self) -> Counter[str]:
        return Counter(self.received)


def make_messages(n: int, prefix: str = "t", domain: str = "example.com") -> list[OutgoingMessage]:
    """``n`` deterministic reminders (text + html), keys ``{prefix}-C{i}|L1|2024-03-31``."""
    out = []
    for i in range(n):
        key = f"{prefix}-C{i:04d}|L1|2024-03-31"
        out.append(
            OutgoingMessage(
                key=key,
                message_id=message_id_for(key, domain),
                sender=f"cobros@{domain}",
                sender_name="Cobros Ejemplo S.L.",
                reply_to=f"administracion@{domain}",
                to=(f"cliente{i}@clientes.test",),
                subject=f"Recordatorio: factura F-{i:05d} vencida",
                text=f"Estimado cliente {i}:\nLa factura F-{i:05d} por 1.234,56 EUR venció el 2024-03-01.\n",
                html=f"<p>Estimado cliente {i}:</p><p>La factura <b>F-{i:05d}</b> por 1.234,56&nbsp;EUR venció.</p>",
                meta={"customer_id": f"C{i:04d}", "level": "L1", "invoice_ids": (f"F-{i:05d}",)},
            )
        )
    return out


def run_sender(journal: str, count: int, prefix: str, *, host: str = "127.0.0.1", port: int = 0,
               outbox: str = "", ready: str = "", delivered_file: str = "") -> dict[str, Any]:
    """Send ``make_messages(count, prefix)`` through ``journal``, to the server at ``port`` or to a local sink
    filing into ``outbox``. ``delivered_file`` lists Message-IDs the server holds (the probe, when the server
    runs in another process). Returns a small report."""
    messages = make_messages(count, prefix)
    started = time.perf_counter()
    probe = None
    if delivered_file:
        delivered = set(Path(delivered_file).read_text().split())
        probe = delivered.__contains__

    def run(config: SmtpConfig) -> dict[str, Any]:
        with Journal(journal, already_delivered=probe) as j, j.lock():
            if ready:
                Path(ready).write_text("locked")
            result = send_batch(messages, j, config)
        return {"summary": result.summary(), "ok": result.ok, "error": result.error,
                "seconds": time.perf_counter() - started}

    if outbox:
        with local_sink(outbox) as config:
            return run(config)
    return run(SmtpConfig(host=host, port=port, security="none", timeout=5.0, max_attempts=5, backoff=0.01,
                          backoff_max=0.05))


class Zygote:
    """A process that has imported cobro once and forks a fresh sender on demand: the kill -9 trials start
    (and kill) senders in milliseconds instead of paying Python and pandas start-up every time."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.process = subprocess.Popen([sys.executable, "-m", "tests.smtp_helpers", "zygote"], cwd=REPO, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def _ask(self, **request: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the zygote process died")
        return json.loads(line)  # type: ignore[no-any-return]

    def spawn(self, report: Path, **sender_args: Any) -> int:
        """Fork a sender (``run_sender(**sender_args)``) that writes its report to ``report``; returns its pid."""
        return int(self._ask(cmd="spawn", report=str(report), args=sender_args)["pid"])

    def poll(self, pid: int) -> int | None:
        """The sender's exit status (negative: killed by that signal), or None while it runs."""
        return self._ask(cmd="poll", pid=pid)["status"]  # type: ignore[no-any-return]

    def wait(self, pid: int, timeout: float = 120.0) -> int:
        deadline = time.monotonic() + timeout
        while (status := self.poll(pid)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"sender {pid} still running after {timeout} s")
            time.sleep(0.005)
        return status

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _zygote() -> int:
    """Read requests (JSON lines) on stdin; fork senders; answer on stdout. No threads here, so fork is safe."""
    finished: dict[int, int] = {}  # pid -> exit status, once reaped
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "spawn":
            pid = os.fork()
            if pid == 0:  # the sender
                code = 1
                try:
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, 1)  # never write into the zygote's answers
                    report = run_sender(**request["args"])
                    Path(request["report"]).write_text(json.dumps(report))
                    code = 0
                finally:
                    os._exit(code)
            answer: dict[str, Any] = {"pid": pid}
        elif request["cmd"] == "poll":
            pid = request["pid"]
            if pid not in finished:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    finished[pid] = os.waitstatus_to_exitcode(status)
            answer = {"status": finished.get(pid)}
        else:
            answer = {"error": f"unknown command {request['cmd']!r}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.smtp_helpers")
    parser.add_argument("command", choices=["send", "zygote"])
    parser.add_argument("--journal")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--prefix", default="t")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--outbox", default="")
    parser.add_argument("--ready", default="", help="file created once the run lock is held")
    args = parser.parse_args(argv)
    if args.command == "zygote":
        return _zygote()
    report = run_sender(args.journal, args.count, args.prefix, host=args.host, port=args.port, outbox=args.outbox,
                        ready=args.ready)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
