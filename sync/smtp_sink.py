"""The embedded default: a local SMTP sink on loopback that files every message as an .eml in an outbox folder.

With no SMTP server configured, cobro starts one of these (aiosmtpd on 127.0.0.1, a free port) and sends to it
exactly as it would to a real server, so the demo and a first try need no mail account; the user opens the
``.eml`` files with any mail program.

Files are named ``YYYYMMDD-HHMMSS_<safe-message-id>.eml`` (local time of receipt; the safe name is the
Message-ID reduced to letters, digits, ``.``, ``_`` and ``-`` plus a short hash of the exact Message-ID). The
sink is idempotent per Message-ID: a second delivery of the same message (same Message-ID, same content but for
its Date) is acknowledged and not stored again, and ``already_delivered(message_id)`` answers from the outbox,
so the send journal can resolve an interrupted run without a duplicate. A *different* message under a
Message-ID the outbox already holds (two ledgers that share one; a bug) is refused loudly with a 554 that names
the Message-ID — never acknowledged and silently dropped. A file is written to a temporary name, flushed to disk
and renamed before the sink answers 250: a message is in the outbox whole, or not at all. Outbox files are
readable by their owner only (0600): they are the reminders, with names and amounts.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from functools import lru_cache
from pathlib import Path
from typing import Any

from cobro.errors import ConflictError
from sync.config import DeliveryProbe, SmtpConfig
from sync.fileio import fsync_folder, open_private

_NAME = re.compile(r"\d{8}-\d{6}_(?P<safe>.+)\.eml\Z")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(message_id: str) -> str:
    """The file-name part derived from a Message-ID (deterministic; distinct IDs give distinct names)."""
    exact = message_id.strip()
    readable = _UNSAFE.sub("_", exact.strip("<>"))[:80].strip("._-") or "message"
    return f"{readable}-{hashlib.sha256(exact.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}"


class MessageIdClashError(ConflictError):
    """The outbox already holds another message under this Message-ID."""


_DATE_HEADER = re.compile(rb"(?im)^Date:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*\r?\n")


def content_digest(content: bytes) -> str:
    """The message's identity for the outbox: its bytes without the Date header (a resend of the same message
    differs only there)."""
    head, sep, body = content.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = content.partition(b"\n\n")
    return hashlib.sha256(_DATE_HEADER.sub(b"", head + b"\r\n") + sep + body).hexdigest()


def message_id_of(content: bytes) -> str:
    """The Message-ID header of raw message bytes ("" when there is none)."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(content)
    value = headers.get("Message-ID")
    return " ".join(str(value).split()) if value else ""


class Outbox:
    """A folder of .eml files, indexed by Message-ID. Thread-safe."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._index: set[str] = set()
        for entry in self.folder.iterdir():
            if entry.name.startswith(".") and entry.name.endswith(".part"):
                entry.unlink(missing_ok=True)  # a write cut short by a crash: never acknowledged
                continue
            found = _NAME.match(entry.name)
            if found:
                self._index.add(found["safe"])

    def already_delivered(self, message_id: str) -> bool:
        """Does the outbox hold a message with this Message-ID? Looks at the folder when this instance has not
        seen it, so an ``Outbox`` opened before another one (a running sink) stored the message still knows."""
        safe = safe_name(message_id)
        with self._lock:
            if safe in self._index:
                return True
            if any(_NAME.match(p.name) for p in self.folder.glob(f"*_{glob.escape(safe)}.eml")):
                self._index.add(safe)
                return True
            return False

    def store(self, content: bytes, received: datetime | None = None) -> tuple[Path | None, bool]:
        """File ``content``; returns (path, True) when stored, (None, False) when the same message was already
        there. Raises ``MessageIdClashError`` when another message holds its Message-ID. A message without a
        Message-ID is named after the hash of its content."""
        mid = message_id_of(content) or f"<no-message-id.{hashlib.sha256(content).hexdigest()[:24]}@cobro.invalid>"
        safe = safe_name(mid)
        with self._lock:
            if safe in self._index:
                existing = [p for p in self.folder.glob(f"*_{glob.escape(safe)}.eml") if _NAME.match(p.name)]
                if existing and content_digest(existing[0].read_bytes()) != content_digest(content):
                    raise MessageIdClashError(
                        f"the outbox already holds a different message with Message-ID {mid} ({existing[0].name})")
                return None, False
            when = received or datetime.now()
            path = self.folder / f"{when:%Y%m%d-%H%M%S}_{safe}.eml"
            tmp = self.folder / f".{safe}.{os.getpid()}.{threading.get_ident()}.part"
            fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            fsync_folder(self.folder)
            self._index.add(safe)
            return path, True

    def paths(self) -> list[Path]:
        """The .eml files, oldest first."""
        return sorted(p for p in self.folder.iterdir() if _NAME.match(p.name))

    def __len__(self) -> int:
        with self._lock:
            return len(self._index)


def outbox_probe(folder: str | os.PathLike[str]) -> DeliveryProbe:
    """``already_delivered`` for an outbox folder that may not exist, without creating or cleaning anything: what
    a preview, or a run before it holds the lock, may ask."""
    path = Path(folder)

    def already_delivered(message_id: str) -> bool:
        safe = glob.escape(safe_name(message_id))
        return path.is_dir() and any(_NAME.match(p.name) for p in path.glob(f"*_{safe}.eml"))

    return already_delivered


def advertise_pipelining(session: Any, hostname: str, responses: list[str]) -> list[str]:
    """EHLO answer with ``PIPELINING`` (RFC 2920) added: aiosmtpd reads commands one by one from its buffer, so
    it handles pipelined clients correctly; it just does not say so."""
    session.host_name = hostname
    return [*responses[:-1], "250-PIPELINING", responses[-1]]


class OutboxHandler:
    """aiosmtpd handler that files each message in an ``Outbox``."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        return advertise_pipelining(session, hostname, responses)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        try:
            path, stored = self.outbox.store(content)
        except MessageIdClashError as exc:
            return f"554 5.6.0 refused: {exc}; nothing was stored"
        except OSError as exc:
            return f"451 4.3.0 cannot write to the outbox: {exc.strerror or exc}"
        if not stored:
            return "250 2.0.0 OK: already in the outbox (same Message-ID), not stored twice"
        assert path is not None
        return f"250 2.0.0 OK: stored as {path.name}"


@lru_cache(maxsize=1)
def loopback_controller() -> type:
    """An aiosmtpd ``Controller`` class that may listen on port 0 (a free port chosen by the system); the port in
    use is ``self.port`` once ``start()`` returns. Made on first use: commands that send nothing do not import
    aiosmtpd."""
    from aiosmtpd.controller import Controller

    class LoopbackController(Controller):
        def _trigger_server(self) -> None:
            assert self.server is not None
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    return LoopbackController


def __getattr__(name: str) -> Any:
    """``LoopbackController`` stays importable by name (tests and benches subclass it)."""
    if name == "LoopbackController":
        return loopback_controller()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class LocalSink:
    """The embedded SMTP sink: start(), use ``config``, stop(). ``local_sink`` wraps it as a context manager."""

    def __init__(self, outbox: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 0) -> None:
        self.outbox = Outbox(outbox)
        self.controller = loopback_controller()(OutboxHandler(self.outbox), hostname=host, port=port,
                                             enable_SMTPUTF8=True)
        self.config: SmtpConfig | None = None

    def start(self) -> SmtpConfig:
        self.controller.start()
        self.config = SmtpConfig(
            host=self.controller.hostname,
            port=self.controller.port,
            security="none",
            timeout=10.0,
            backoff=0.2,
            backoff_max=2.0,
            already_delivered=self.outbox.already_delivered,
            source=f"local sink, outbox {self.outbox.folder}",
        )
        return self.config

    def stop(self) -> None:
        self.controller.stop()

    def already_delivered(self, message_id: str) -> bool:
        return self.outbox.already_delivered(message_id)


@contextmanager
def local_sink(outbox: str | os.PathLike[str], host: str = "127.0.0.1") -> Iterator[SmtpConfig]:
    """Run a local SMTP sink filing messages in ``outbox`` for the duration of the block; yields the
    ``SmtpConfig`` to send to it (with its ``already_delivered`` probe)."""
    sink = LocalSink(outbox, host=host)
    config = sink.start()
    try:
        yield config
    finally:
        sink.stop()
