"""Sending reminders exactly once: validated messages, one SMTP connection per batch, a crash-safe journal.

``send_batch(messages, journal, config)`` sends a batch of ``OutgoingMessage``:

1. Validates every message (header fields refuse line breaks via ``cobro.safety.header_value``; addresses and
   the Message-ID must be well formed). An invalid message is journaled ``failed`` with the reason and never
   reaches the server.
2. Records every message ``intended`` in the journal, in one committed transaction, before any SMTP traffic.
3. Skips what the journal already knows as sent, failed or unconfirmed; resolves messages an interrupted run
   left in flight (asks the server through the ``already_delivered`` probe when it has one; without one they
   become *unconfirmed* — see ``sync.journal`` — and are never resent on cobro's own initiative).
4. Sends the rest in order over ONE connection (MAIL/RCPT/DATA pipelined per RFC 2920 when the server offers
   it), reconnecting when the server drops it. Each message is marked in flight (committed) before its content
   is sent and sent (committed) after the server's 250; on the happy path one commit does both (the previous
   message sent, this one in flight), issued while the server reads this message's commands: one fsync per
   message, overlapping the network round trip.
   Temporary errors (4xx, connections dropped before the content was sent, timeouts) are retried with
   exponential backoff, at most ``config.max_attempts`` tries per message in a run; then the message stays
   pending for the next run. A connection lost *after* the content was sent is an unknown outcome: the probe
   decides, or the message becomes unconfirmed (listed in the result; ``resend_unconfirmed`` is a person's
   choice).
   Permanent ones (5xx: 550 unknown user, bad address...) are journaled ``failed`` and never retried.
5. When the server cannot be reached at all, stops: every unsent message stays pending and the result says
   "SMTP server unreachable at host:port; N messages pending, nothing lost".

Addresses follow the one rule of ``cobro.addresses`` (the planner uses the same): an address with a non-ASCII
local part (``josé@empresa.es``) is sent with SMTPUTF8 (RFC 6531) when the server offers it; when it does not,
that message fails with a clear reason and the others go on.

How yagmail is used: yagmail (0.16) opens and authenticates the connection — ``yagmail.SMTP`` handles implicit
TLS (``smtp_ssl``), STARTTLS (``smtp_starttls``) and servers without login (``smtp_skip_login``). Its ``send()``
is not used: it reconnects and logs in again for every message, retries dropped connections by itself with
sleeps and hides failures in ``unsent``; it also guesses whether content strings are file paths (an untrusted
string naming a local file would be attached) and cannot build a clean text+html alternative. So cobro builds
the MIME message itself (``message_bytes``: multipart/alternative text+html, attachments, our Message-ID and
Reply-To) and runs the SMTP transaction (MAIL, RCPT, DATA) on yagmail's underlying ``smtplib`` connection
(``client.smtp``), which is what lets the journal commit the message's state at the right points.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import smtplib
import ssl
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate
from functools import lru_cache
from typing import Any

from cobro.addresses import needs_smtputf8, normalize_email
from cobro.errors import InputError
from cobro.safety import HeaderInjectionError, header_value
from sync.config import ConfigError, DeliveryProbe, SmtpConfig
from sync.journal import FAILED, INTENDED, SENT, UNCONFIRMED, Journal, JournalRecord, RunInProgressError

__all__ = [
    "ALREADY_SENT",
    "BatchResult",
    "ConfigError",
    "FAILED",
    "HeaderInjectionError",
    "InvalidMessageError",
    "MessageResult",
    "OutgoingMessage",
    "PENDING",
    "RunInProgressError",
    "SENT",
    "SmtpConfig",
    "UNCONFIRMED",
    "build_mime",
    "message_bytes",
    "message_id_for",
    "resend_unconfirmed",
    "send_batch",
]

ALREADY_SENT = "already_sent"
PENDING = "pending"

_MESSAGE_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>\Z")
_MIMETYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\Z")


class InvalidMessageError(InputError, ValueError):
    """A message that must not be sent as it is (bad address, malformed Message-ID, no body...)."""


def message_id_for(key: str, domain: str, ledger_id: str = "") -> str:
    """A deterministic Message-ID for a journal key outside a reminder plan (tests, benchmarks): the same key
    (and ledger) always gives the same ``<...@domain>``. Reminders take theirs from the one scheme,
    ``cobro.reminders.message_id`` (customer, level, day and the journal's ledger id)."""
    basis = f"{ledger_id}\x1f{key}" if ledger_id else key
    digest = hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]
    domain = _idna(header_value(domain.strip(), "Message-ID domain"), "Message-ID domain")
    return f"<cobro.{digest}@{domain}>"


@dataclass(frozen=True, kw_only=True)
class OutgoingMessage:
    """One e-mail to send. ``key`` is its identity in the journal (e.g. ``customer|level|as_of``) and
    ``message_id`` its deterministic Message-ID (``<...@...>``). ``meta`` (customer_id, level, invoice_ids...)
    is echoed in the results. ``to``/``cc`` accept a single address or a sequence."""

    key: str
    message_id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    sender_name: str = ""
    reply_to: str = ""
    cc: tuple[str, ...] = ()
    html: str = ""
    text: str = ""
    attachments: tuple[tuple[str, bytes, str], ...] = ()  # (filename, content, mimetype)
    meta: Mapping[str, Any] = field(default_factory=dict)
    # images the HTML part shows with <img src="cid:CONTENT_ID">: (content_id, content, mimetype), sent as
    # multipart/related with the HTML (issue 13: the EPC QR code of a reminder)
    inline: tuple[tuple[str, bytes, str], ...] = ()

    def __post_init__(self) -> None:
        for name in ("to", "cc"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,) if value else ())
            elif not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if not isinstance(self.attachments, tuple):
            object.__setattr__(self, "attachments", tuple(tuple(a) for a in self.attachments))
        if not isinstance(self.inline, tuple):
            object.__setattr__(self, "inline", tuple(tuple(a) for a in self.inline))

    def recipients(self) -> tuple[str, ...]:
        """Envelope recipients: to, then cc, without repeats."""
        return tuple(dict.fromkeys(a.strip() for a in self.to + self.cc))

    def validate(self) -> None:
        """Raise ``HeaderInjectionError`` or ``InvalidMessageError`` (both ``ValueError``) with a clear reason."""
        if not self.key:
            raise InvalidMessageError("message has no journal key")
        mid = header_value(self.message_id, "Message-ID")
        if not _MESSAGE_ID.match(mid) or mid.count("@") != 1:
            raise InvalidMessageError(f"Message-ID must look like <unique-part@domain> (ASCII), got {mid!r}")
        header_value(self.subject, "subject")
        header_value(self.sender_name, "sender name")
        _address(self.sender, "sender")
        if self.reply_to:
            _address(self.reply_to, "Reply-To")
        if not self.to:
            raise InvalidMessageError("message has no recipient (to)")
        for addr in self.to:
            _address(addr, "to")
        for addr in self.cc:
            _address(addr, "cc")
        if not self.text and not self.html:
            raise InvalidMessageError("message has neither a text nor an HTML body")
        for item in self.attachments:
            if len(item) != 3:
                raise InvalidMessageError("an attachment must be (filename, bytes, mimetype)")
            name, data, mimetype = item
            header_value(name, "attachment filename")
            if len(name.encode("utf-8")) > 200:
                raise InvalidMessageError(f"attachment filename is too long (over 200 bytes): {name[:40]!r}...")
            if not name or not isinstance(data, bytes | bytearray):
                raise InvalidMessageError(f"attachment {name!r} needs a filename and bytes content")
            if not _MIMETYPE.match(header_value(mimetype, "attachment type")):
                raise InvalidMessageError(
                    f"attachment {name!r} has an invalid type {mimetype!r} (expected e.g. application/pdf)"
                )
        for item in self.inline:
            if len(item) != 3 or not isinstance(item[1], bytes | bytearray):
                raise InvalidMessageError("an inline image must be (content_id, bytes, mimetype)")
            cid, _data, mimetype = item
            if not re.fullmatch(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+", cid or ""):
                raise InvalidMessageError(f"inline image Content-ID must look like name@domain, got {cid!r}")
            if not mimetype.startswith("image/") or not _MIMETYPE.match(header_value(mimetype, "inline type")):
                raise InvalidMessageError(f"inline image {cid!r} has an invalid type {mimetype!r} (image/png)")
            if not self.html:
                raise InvalidMessageError("inline images need an HTML part to show them")


def _idna(domain: str, field_name: str) -> str:
    try:
        return domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        raise InvalidMessageError(f"{field_name} has an invalid domain: {domain!r}") from None


_normalized = lru_cache(maxsize=4096)(normalize_email)


def _address(addr: str, field_name: str) -> str:
    """One bare address (``name@example.com``), checked and normalized by the one rule of ``cobro.addresses``
    (IDN domains become punycode; a non-ASCII local part needs a server that offers SMTPUTF8)."""
    value = header_value(addr, field_name).strip()
    normalized = _normalized(value)
    if normalized is None:
        raise InvalidMessageError(f"{field_name} is not a valid e-mail address: {addr!r}")
    return normalized


def message_bytes(message: OutgoingMessage, date: str | None = None) -> bytes:
    """The message exactly as sent (validated first): CRLF line ends, 7-bit clean, lines under 78 characters.

    Structure: text and HTML as ``multipart/alternative`` (one of them alone if the other is empty), wrapped in
    ``multipart/mixed`` with the attachments (base64) if any; an HTML part with inline images (``inline``) is a
    ``multipart/related`` of the HTML and the images, each with its ``Content-ID``. Bodies are UTF-8
    quoted-printable; non-ASCII header text (subject, sender name) is RFC 2047 encoded; IDN domains are punycode.
    Headers: From (with the display name), To, Cc, Reply-To, Subject, Date, Message-ID (the caller's), MIME-Version and
    ``Auto-Submitted: auto-generated`` (RFC 3834: vacation robots do not answer reminders). Boundaries derive
    from the Message-ID, so a resend differs only in its Date.

    Serialized by hand rather than with ``email.generator``: the same bytes in a tenth of the time (the stdlib
    folds and re-encodes every header in pure Python), which matters at 1,000 messages a batch. ``build_mime``
    parses these bytes back for previews and tests."""
    message.validate()
    seed = hashlib.sha256(message.message_id.encode("ascii")).hexdigest()[:20]
    parts: list[bytes] = []
    if message.text:
        parts.append(_text_part(message.text, "plain"))
    if message.html:
        html = _text_part(message.html, "html")
        if message.inline:
            html = _multipart("related", f"=_rel_{seed}",
                              [html, *(_inline(c, bytes(d), t) for c, d, t in message.inline)])
        parts.append(html)
    body = parts[0] if len(parts) == 1 else _multipart("alternative", f"=_alt_{seed}", parts)
    if message.attachments:
        body = _multipart(
            "mixed", f"=_mix_{seed}", [body, *(_attachment(n, bytes(d), t) for n, d, t in message.attachments)]
        )
    lines = [
        _fold("From", _from_words(message.sender_name, _address(message.sender, "sender"))),
        _fold("To", [_address(a, "to") for a in message.to], ","),
    ]
    if message.cc:
        lines.append(_fold("Cc", [_address(a, "cc") for a in message.cc], ","))
    if message.reply_to:
        lines.append(_fold("Reply-To", [_address(message.reply_to, "Reply-To")]))
    lines += [
        _fold("Subject", _header_words(message.subject)),
        f"Date: {date or formatdate(localtime=True)}",
        f"Message-ID: {message.message_id}",
        "MIME-Version: 1.0",
        "Auto-Submitted: auto-generated",
    ]
    # An address with a non-ASCII local part cannot be encoded in a header: it goes as UTF-8 (RFC 6532), which
    # only an SMTPUTF8 transaction may carry (the sender checks the server offers it).
    return ("\r\n".join(lines) + "\r\n").encode("utf-8") + body


def build_mime(message: OutgoingMessage, date: str | None = None) -> EmailMessage:
    """The message as sent, parsed back (``email.policy.default``): for previews and inspection."""
    return message_from_bytes(message_bytes(message, date), policy=default_policy)  # type: ignore[return-value]


_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 ``=?utf-8?b?...?=`` words of at most 39 bytes of text each (64 characters), never splitting a
    character. Readers join adjacent encoded words without the space between them."""
    words, chunk, size = [], [], 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > 39:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(ch)
        size += n
    if chunk:
        words.append("".join(chunk))
    return ["=?utf-8?b?" + binascii.b2a_base64(w.encode("utf-8"), newline=False).decode("ascii") + "?=" for w in words]


def _header_words(text: str, phrase: bool = False) -> list[str]:
    """Header text as foldable words: plain ASCII words stay as they are; each run of words that needs encoding
    (non-ASCII, control characters, ``=?``, very long, or — in a display name — RFC 5322 specials) becomes
    encoded words, so the
    spaces between plain and encoded words survive every reader."""
    out: list[str] = []
    run: list[str] = []
    for token in text.split(" "):
        plain = token.isascii() and token.isprintable() and "=?" not in token and len(token) <= 60
        if not plain or (phrase and _SPECIALS.search(token)):
            run.append(token)
            continue
        if run:
            out.extend(_encoded_words(" ".join(run)))
            run = []
        out.append(token)
    if run:
        out.extend(_encoded_words(" ".join(run)))
    return out


def _from_words(name: str, addr: str) -> list[str]:
    """``Name <addr>`` as foldable words (the name quoted or encoded as needed)."""
    name = " ".join(name.split())
    if not name:
        return [addr]
    if name.isascii() and name.isprintable() and "=?" not in name:
        if _SPECIALS.search(name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return [name, f"<{addr}>"]
    return [*_header_words(name, phrase=True), f"<{addr}>"]


def _fold(name: str, items: list[str], separator: str = "") -> str:
    """``Name: item item`` (or ``item, item``), folded before an item that would pass 78 characters."""
    out, line = [], f"{name}:"
    for i, item in enumerate(items):
        piece = item + (separator if i < len(items) - 1 else "")
        if len(line) + 1 + len(piece) > 78 and line != f"{name}:":
            out.append(line)
            line = " " + piece
        else:
            line += " " + piece
    out.append(line)
    return "\r\n".join(out)


def _text_part(content: str, subtype: str) -> bytes:
    normalized = content.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(normalized.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    ).encode("ascii") + encoded


def _attachment(name: str, data: bytes, mimetype: str) -> bytes:
    if name.isascii():
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        params = f'; filename="{quoted}"'
        type_params = f'; name="{quoted}"'
    else:
        params = "; filename*=utf-8''" + urllib.parse.quote(name, safe="")
        type_params = ""
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (
        f"Content-Type: {mimetype}{type_params}\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment{params}\r\n\r\n"
    ).encode("ascii") + encoded


def _inline(content_id: str, data: bytes, mimetype: str) -> bytes:
    name = content_id.split("@")[0] + "." + mimetype.split("/")[-1]
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (
        f"Content-Type: {mimetype}\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <{content_id}>\r\n"
        f'Content-Disposition: inline; filename="{name}"\r\n\r\n'
    ).encode("ascii") + encoded


def _multipart(subtype: str, boundary: str, parts: list[bytes]) -> bytes:
    # "=_" cannot occur in quoted-printable or base64 bodies, so these boundaries never collide with content
    mark = f"--{boundary}".encode("ascii")
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode("ascii")]
    for part in parts:  # the CRLF before a boundary belongs to the boundary: a part keeps its own last line end
        out += [mark, b"\r\n", part, b"\r\n"]
    out += [mark, b"--\r\n"]
    return b"".join(out)


# --------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class MessageResult:
    """What happened to one message. ``status``: ``sent`` (delivered now, or confirmed delivered by an
    interrupted run), ``already_sent`` (journaled as sent by an earlier run), ``failed`` (permanent, with
    ``reason``), ``pending`` (not delivered; a later run sends it) or ``unconfirmed`` (its content reached the
    server but its answer was lost, and the server cannot be asked: never resent unless a person asks).
    ``at`` is when it was sent or failed (UTC).
    ``needs_log`` is true until the caller has written it to the Contacts log and called
    ``Journal.mark_logged``."""

    key: str
    message_id: str
    status: str
    reason: str
    attempts: int
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    meta: Mapping[str, Any]
    at: datetime | None
    needs_log: bool


@dataclass(frozen=True)
class BatchResult:
    results: tuple[MessageResult, ...]
    error: str = ""  # why the batch stopped early ("SMTP server unreachable at ..."), else ""
    server: str = ""  # host:port

    def with_status(self, status: str) -> list[MessageResult]:
        return [r for r in self.results if r.status == status]

    @property
    def sent(self) -> list[MessageResult]:
        return self.with_status(SENT)

    @property
    def already_sent(self) -> list[MessageResult]:
        return self.with_status(ALREADY_SENT)

    @property
    def failed(self) -> list[MessageResult]:
        return self.with_status(FAILED)

    @property
    def pending(self) -> list[MessageResult]:
        return self.with_status(PENDING)

    @property
    def unconfirmed(self) -> list[MessageResult]:
        return self.with_status(UNCONFIRMED)

    @property
    def ok(self) -> bool:
        """Everything was delivered (now or before); nothing failed, is left pending or is unconfirmed."""
        return not self.error and not self.failed and not self.pending and not self.unconfirmed

    def to_log(self) -> list[MessageResult]:
        """The contacts to write to the Contacts sheet: sent, failed and unconfirmed messages not yet logged
        (including ones an interrupted earlier run delivered but never logged). Call ``Journal.mark_logged``
        after writing."""
        return [r for r in self.results if r.needs_log and r.status in (SENT, ALREADY_SENT, FAILED, UNCONFIRMED)]

    def summary(self) -> str:
        parts = [f"{len(self.sent)} sent"]
        if self.already_sent:
            parts.append(f"{len(self.already_sent)} already sent")
        parts.append(f"{len(self.failed)} failed")
        parts.append(f"{len(self.pending)} pending")
        if self.unconfirmed:
            parts.append(f"{len(self.unconfirmed)} unconfirmed (not resent: see the list)")
        text = ", ".join(parts)
        return f"{text}. {self.error}" if self.error else text


# ---------------------------------------------------------------------------------------- sending


class _Stop(Exception):
    """The batch cannot go on (server unreachable, login refused, TLS failure); nothing more is sent."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def _reply(code: int, resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return f"{code} {' '.join(text.split())}".strip()


class _Connection:
    """One SMTP connection, opened and authenticated by yagmail, reopened when the server drops it."""

    def __init__(self, config: SmtpConfig, sleep: Callable[[float], None]) -> None:
        self.config = config
        self.sleep = sleep
        self.client: Any = None
        self.opened = 0

    @property
    def connected(self) -> bool:
        return self.client is not None and getattr(self.client.smtp, "sock", None) is not None

    def get(self) -> smtplib.SMTP:
        if self.connected:
            return self.client.smtp  # type: ignore[no-any-return]
        self.drop()
        import yagmail  # imported here: only a real send needs it

        cfg = self.config
        kwargs: dict[str, Any] = {"timeout": cfg.timeout}
        starttls: bool | dict[str, Any] = False
        if cfg.security == "ssl":
            kwargs["context"] = ssl.create_default_context()
        elif cfg.security == "starttls":
            starttls = {"context": ssl.create_default_context()}
        last = ""
        for attempt in range(1, cfg.max_attempts + 1):
            client = yagmail.SMTP(
                # a {user: alias} dict keeps yagmail from appending "@gmail.com" to a login without "@"
                user={cfg.user: cfg.user} if cfg.user else None,
                password=cfg.password or None,
                host=cfg.host,
                port=cfg.port,
                smtp_ssl=cfg.security == "ssl",
                smtp_starttls=starttls,
                smtp_skip_login=not cfg.user,
                soft_email_validation=False,
                **kwargs,
            )
            client.set_logging(None)  # yagmail logs nothing of ours
            try:
                client.login()
            except smtplib.SMTPAuthenticationError as exc:
                _close_quietly(client)
                answer = _reply(exc.smtp_code, exc.smtp_error)
                raise _Stop(f"SMTP login refused for user {cfg.user!r} at {cfg.address()}: {answer}") from None
            except UnicodeError:
                _close_quietly(client)
                raise _Stop(
                    f"SMTP login at {cfg.address()} failed: the user name or password contains characters (such as "
                    "accents) that SMTP login cannot carry"
                ) from None
            except smtplib.SMTPNotSupportedError as exc:
                _close_quietly(client)
                raise _Stop(
                    f"SMTP server at {cfg.address()} does not support what COBRO_SMTP_SECURITY={cfg.security} "
                    f"or the login needs ({exc}); use ssl (port 465), starttls (port 587) or none"
                ) from None
            except ssl.SSLError as exc:
                _close_quietly(client)
                raise _Stop(
                    f"TLS with the SMTP server at {cfg.address()} failed ({exc.reason or exc}); check "
                    "COBRO_SMTP_SECURITY (ssl for port 465, starttls for 587) and the server's certificate"
                ) from None
            except smtplib.SMTPResponseException as exc:
                _close_quietly(client)
                if 500 <= exc.smtp_code < 600:
                    answer = _reply(exc.smtp_code, exc.smtp_error)
                    raise _Stop(f"SMTP server at {cfg.address()} refused the connection: {answer}") from None
                last = _reply(exc.smtp_code, exc.smtp_error)
            except OSError as exc:  # refused, reset, timeout, DNS, SMTPServerDisconnected
                _close_quietly(client)
                last = _os_reason(exc)
            else:
                self.client = client
                self.opened += 1
                return client.smtp  # type: ignore[no-any-return]
            if attempt < cfg.max_attempts:
                self.sleep(cfg.retry_delay(attempt))
        raise _Stop(last, unreachable=True)

    def drop(self) -> None:
        """Forget a connection that failed (no QUIT: it is not usable)."""
        if self.client is not None:
            try:
                self.client.smtp.close()
            except Exception:
                pass
            self.client.is_closed = True
            self.client = None

    def close(self) -> None:
        """End the batch politely (QUIT)."""
        if self.client is not None:
            _close_quietly(self.client)
            self.client = None


def _close_quietly(client: Any) -> None:
    try:
        client.close()
    except Exception:
        pass
    client.is_closed = True


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


@dataclass
class _Outcome:
    kind: str  # "sent" | "failed" | "retry"
    reason: str = ""
    uncertain: bool = False  # the content reached the server but no final answer came back


_LEADING_DOT = re.compile(rb"(?m)^\.")


class _Batch:
    def __init__(
        self,
        messages: Sequence[OutgoingMessage],
        journal: Journal,
        config: SmtpConfig,
        progress: Callable[[int], None] | None,
        sleep: Callable[[float], None],
        payloads: Mapping[str, bytes] | None = None,
        resend: bool = False,
    ) -> None:
        self.messages = messages
        self.payloads: dict[str, bytes] = dict(payloads or {})
        self.resend = resend  # a person chose to resend these unconfirmed messages
        self.journal = journal
        self.config = config
        self.progress = progress
        self.sleep = sleep
        self.probe: DeliveryProbe | None = journal.already_delivered or config.already_delivered
        self.conn = _Connection(config, sleep)
        self.results: dict[str, MessageResult] = {}
        # accepted by the server, its "sent" to be committed with the next message's attempt (one fsync)
        self.accepted: tuple[OutgoingMessage, str] | None = None

    def run(self) -> BatchResult:
        problems: dict[str, str] = {}
        for m in self.messages:
            try:
                m.validate()
                if m.key not in self.payloads:
                    self.payloads[m.key] = message_bytes(m)
            except (ValueError, TypeError, LookupError) as exc:
                problems[m.key] = str(exc)
        records = self.journal.intend(
            {"key": m.key, "message_id": m.message_id, "subject": m.subject, "recipients": m.recipients(),
             "meta": dict(m.meta), "payload": self.payloads.get(m.key)}
            for m in self.messages
        )
        todo: list[OutgoingMessage] = []
        for m in self.messages:
            rec = records[m.key]
            if rec.state == UNCONFIRMED:
                rec = self._recheck_unconfirmed(m, rec)
            if rec.state == INTENDED and m.key in problems:
                if rec.in_flight and self._delivered(m):  # an earlier run delivered it before it became invalid
                    self.journal.mark_sent(m.key, "delivered before an interruption; confirmed with the server")
                else:
                    self.journal.mark_failed(m.key, problems[m.key])
                rec = self._reload(m.key)
            if rec.state == SENT:
                self._finish(m, rec, ALREADY_SENT)
            elif rec.state == FAILED:
                self._finish(m, rec, FAILED)
            elif rec.state == UNCONFIRMED:
                self._finish(m, rec, UNCONFIRMED)
            else:
                todo.append(m)
        error = ""
        try:
            for i, m in enumerate(todo):
                try:
                    following = todo[i + 1] if i + 1 < len(todo) else None
                    # this one's success is committed together with the next message's attempt, unless an
                    # interrupted run left that one in flight (it must be probed before any new attempt)
                    self._deliver(m, records[m.key], following is not None and not records[following.key].in_flight)
                except _Stop as stop:
                    for rest in todo[i:]:
                        self._finish(rest, self._reload(rest.key), PENDING, str(stop))
                    pending = sum(1 for r in self.results.values() if r.status == PENDING)
                    error = (
                        f"SMTP server unreachable at {self.config.address()}; {pending} messages pending, "
                        f"nothing lost ({stop}); a later run sends them"
                        if stop.unreachable
                        else f"{stop}; {pending} messages pending, nothing lost"
                    )
                    break
        finally:
            self._flush_sent()
            self.conn.close()
        return BatchResult(
            tuple(self.results[m.key] for m in self.messages), error=error, server=self.config.address()
        )

    def _recheck_unconfirmed(self, m: OutgoingMessage, rec: JournalRecord) -> JournalRecord:
        """An unconfirmed message of an earlier run: if the server can be asked now, its answer settles it."""
        answer = self._delivered(m)
        if answer is None:
            return rec
        if answer:
            self.journal.reopen_unconfirmed(m.key, rec.reason)
            self.journal.mark_sent(m.key, "delivered before an interruption; confirmed with the server")
        else:  # the server says it never got it: sending it now cannot make a second copy
            self.journal.reopen_unconfirmed(m.key, "the server confirmed it never received it")
            self.journal.set_in_flight(m.key, False, "the server confirmed it never received it")
        return self._reload(m.key)

    def _reload(self, key: str) -> JournalRecord:
        rec = self.journal.get(key)
        assert rec is not None
        return rec

    def _finish(self, m: OutgoingMessage, rec: JournalRecord, status: str, reason: str | None = None) -> None:
        at = rec.sent_at if rec.state == SENT else rec.failed_at if rec.state == FAILED else None
        self.results[m.key] = MessageResult(
            key=m.key,
            message_id=m.message_id,
            status=status,
            reason=rec.reason if reason is None else reason,
            attempts=rec.attempts,
            to=m.to,
            cc=m.cc,
            subject=m.subject,
            meta=m.meta,
            at=at,
            needs_log=status != PENDING and rec.logged_at is None,
        )
        if self.progress is not None and status != PENDING:
            self.progress(1)

    def _delivered(self, m: OutgoingMessage) -> bool | None:
        """The probe's answer, or None when there is no probe (or it could not answer)."""
        if self.probe is None:
            return None
        try:
            return bool(self.probe(m.message_id))
        except Exception:  # a probe that cannot answer is no answer
            return None

    def _flush_sent(self) -> None:
        """Commit the message the server accepted last, if its ``sent`` still rides with the next attempt."""
        if self.accepted is not None:
            m, reason = self.accepted
            self.accepted = None
            self.journal.mark_sent(m.key, reason)
            self._finish(m, self._reload(m.key), SENT)

    def _commit_attempt(self, m: OutgoingMessage) -> None:
        """Before ``m``'s content can reach the server: ``m`` in flight, one more attempt — and the previous
        message sent, in the same commit."""
        if self.accepted is not None:
            prev, reason = self.accepted
            self.accepted = None
            self.journal.start_attempt(m.key, sent_key=prev.key, sent_reason=reason)
            self._finish(prev, self._reload(prev.key), SENT)
        else:
            self.journal.start_attempt(m.key)

    def _deliver(self, m: OutgoingMessage, rec: JournalRecord, carry: bool) -> None:
        """Deliver ``m`` (retrying temporary errors). With ``carry`` (the next message can take it), the commit
        of ``m``'s success is left to ride with the next message's attempt."""
        cfg, journal = self.config, self.journal
        uncertain = rec.in_flight  # the server may already hold it (an earlier run was interrupted)
        resent_note = ""
        may_resend = self.resend  # a person asked: one more try even though the server cannot be asked
        payload: bytes | None = self.payloads.get(m.key)
        tries = 0
        reason = rec.reason or "an earlier run was interrupted while the server was receiving it"
        while True:
            if uncertain:
                self._flush_sent()
                answer = self._delivered(m)
                if answer:
                    journal.mark_sent(m.key, "delivered before an interruption; confirmed with the server")
                    self._finish(m, self._reload(m.key), SENT)
                    return
                if answer is None and not may_resend:
                    # Never a second copy on cobro's own initiative: a person decides (--resend-unconfirmed).
                    journal.mark_unconfirmed(m.key, f"unconfirmed: the content reached the server but its answer "
                                                    f"was lost ({reason}); not resent")
                    self._finish(m, self._reload(m.key), UNCONFIRMED)
                    return
                if answer is None:
                    resent_note = ("resent at a person's request with the same Message-ID (the first try was "
                                   "unconfirmed); mail clients that saw the first copy show one")
                else:
                    uncertain = False  # the server says it does not have it
            if payload is None:
                try:
                    payload = message_bytes(m)
                except (ValueError, TypeError, LookupError) as exc:
                    self._flush_sent()
                    journal.mark_failed(m.key, f"message cannot be encoded: {exc}")
                    self._finish(m, self._reload(m.key), FAILED)
                    return
            if not self.conn.connected:
                self._flush_sent()  # (re)connecting can take a while: confirm the previous message first
            try:
                smtp = self.conn.get()
            except _Stop:
                self._flush_sent()
                if tries:
                    journal.set_in_flight(m.key, uncertain, reason)
                raise
            tries += 1
            outcome = self._transaction(smtp, m, payload, lambda: self._commit_attempt(m))
            if outcome.kind == "sent":
                reason = "; ".join(x for x in (outcome.reason, resent_note) if x)
                if carry:
                    self.accepted = (m, reason)
                else:
                    journal.mark_sent(m.key, reason)
                    self._finish(m, self._reload(m.key), SENT)
                return
            if outcome.kind == "failed":
                journal.mark_failed(m.key, outcome.reason)
                self._finish(m, self._reload(m.key), FAILED)
                return
            uncertain, reason = outcome.uncertain, outcome.reason
            if uncertain and self.probe is None:
                continue  # no server to ask: it becomes unconfirmed at the top of the loop, at once
            if uncertain and may_resend:
                may_resend = False  # one resend per person's request: a second unknown outcome stays unconfirmed
                continue
            if tries >= cfg.max_attempts:
                if uncertain and self._delivered(m):
                    continue  # confirmed at the top of the loop
                journal.set_in_flight(m.key, uncertain, reason)
                self._finish(m, self._reload(m.key), PENDING, (
                    f"temporary failure after {tries} tries ({reason}); it stays pending and the next run sends it"
                ))
                return
            self.sleep(cfg.retry_delay(tries))

    def _transaction(
        self, smtp: smtplib.SMTP, m: OutgoingMessage, payload: bytes, commit: Callable[[], None]
    ) -> _Outcome:
        """One SMTP transaction (MAIL, RCPT..., DATA, content), pipelined (RFC 2920) when the server offers it.

        ``commit`` (the journal's in-flight record) runs exactly once, after the first command is written and
        before any reply is read — so the fsync overlaps the server's work — and always before the content is
        sent. The outcome is recorded by the caller."""
        sender = _address(m.sender, "sender")
        rcpts = list(dict.fromkeys(_address(a, "recipient") for a in m.recipients()))
        utf8 = [a for a in (sender, *rcpts) if needs_smtputf8(a)]
        committed = False

        def commit_once() -> None:
            nonlocal committed
            if not committed:
                committed = True
                commit()

        try:
            if smtp.ehlo_resp is None and smtp.helo_resp is None:
                commit_once()  # a fresh connection: EHLO first
                smtp.ehlo_or_helo_if_needed()
            options = f" SIZE={len(payload)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
            if utf8:
                if not (smtp.does_esmtp and smtp.has_extn("smtputf8")):
                    return _Outcome("failed", (
                        f"{utf8[0]} has a non-ASCII part before the @, which needs a mail server that offers "
                        f"SMTPUTF8 (RFC 6531); the server at {self.config.address()} does not. Ask the customer "
                        "for an ASCII address or use a server that offers SMTPUTF8"))
                options += " SMTPUTF8"
                smtp.command_encoding = "utf-8"
            if smtp.has_extn("pipelining"):
                smtp.send(
                    f"MAIL FROM:{smtplib.quoteaddr(sender)}{options}\r\n"
                    + "".join(f"RCPT TO:{smtplib.quoteaddr(r)}\r\n" for r in rcpts)
                    + "DATA\r\n"
                )
                commit_once()
                mail = smtp.getreply()
                replies = [smtp.getreply() for _ in rcpts]
                data = smtp.getreply()
            else:
                smtp.putcmd("mail", f"FROM:{smtplib.quoteaddr(sender)}{options}")
                commit_once()
                mail = smtp.getreply()
                replies = []
                if mail[0] == 250:
                    for rcpt in rcpts:
                        replies.append(smtp.rcpt(rcpt))
                        if replies[-1][0] == 421:
                            break
                accepted = any(code in (250, 251) for code, _ in replies)
                data = smtp.docmd("DATA") if accepted else (0, b"")
            if data[0] == 354 and (mail[0] != 250 or not any(c in (250, 251) for c, _ in replies)):
                smtp.send(b".\r\n")  # a server that said 354 to a transaction without recipients: close it empty
                smtp.getreply()
                data = (0, b"")
            if mail[0] != 250:
                return self._refused(smtp, f"sender {sender} refused: {_reply(*mail)}", mail[0])
            refused = {r: reply for r, reply in zip(rcpts, replies, strict=False) if reply[0] not in (250, 251)}
            refusals = "; ".join(f"{a}: {_reply(*reply)}" for a, reply in refused.items())
            if any(code == 421 for code, _ in refused.values()):
                self.conn.drop()
                return _Outcome("retry", f"recipient refused: {refusals}")
            if len(refused) == len(rcpts):
                temporary = any(400 <= code < 500 for code, _ in refused.values())
                self._reset(smtp)
                return _Outcome("retry" if temporary else "failed", f"recipient refused: {refusals}")
            if data[0] != 354:
                return self._refused(smtp, f"DATA refused: {_reply(*data)}", data[0])
        except smtplib.SMTPResponseException as exc:  # e.g. a non-250 reply to EHLO
            self.conn.drop()
            kind = "failed" if 500 <= exc.smtp_code < 600 else "retry"
            return _Outcome(kind, _reply(exc.smtp_code, exc.smtp_error))
        except OSError as exc:  # dropped before the content was sent: the server does not have it
            self.conn.drop()
            return _Outcome("retry", f"connection lost: {_os_reason(exc)}")
        finally:
            commit_once()  # every path commits the attempt (and with it the previous message's success)
            smtp.command_encoding = "ascii"
        try:  # from here the server may accept the message whatever we hear back
            content = _LEADING_DOT.sub(b"..", payload)
            smtp.send(content + (b"" if content.endswith(b"\r\n") else b"\r\n") + b".\r\n")
            code, resp = smtp.getreply()
        except OSError as exc:  # dropped or timed out after sending the content: uncertain
            self.conn.drop()
            return _Outcome("retry", f"connection lost during delivery: {_os_reason(exc)}", uncertain=True)
        if code == 250:
            return _Outcome("sent", f"not delivered to {refusals}" if refusals else "")
        return self._refused(smtp, f"message refused: {_reply(code, resp)}", code)

    def _reset(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.rset()
        except OSError:
            self.conn.drop()

    def _refused(self, smtp: smtplib.SMTP, reason: str, code: int) -> _Outcome:
        if code == 421 or code < 100:  # the server is closing the connection (or answered nonsense)
            self.conn.drop()
            return _Outcome("retry", reason)
        self._reset(smtp)
        return _Outcome("failed" if 500 <= code < 600 else "retry", reason)


def send_batch(
    messages: Sequence[OutgoingMessage],
    journal: Journal,
    config: SmtpConfig,
    progress: Callable[[int], None] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchResult:
    """Send ``messages`` exactly once, in order, over one connection to ``config``'s server.

    Holds ``journal``'s run lock for the whole batch (``RunInProgressError``: "a run is already in progress").
    ``progress(n)`` is called with an increment (1) each time a message is finished (sent, skipped or failed).
    The delivery probe is ``journal.already_delivered`` or else ``config.already_delivered``.
    Raises ``ValueError`` before anything is sent if two messages share a key or a Message-ID, or if a key is
    journaled under another Message-ID. Per-message problems never raise: they are in the result.
    """
    messages = list(messages)
    keys: dict[str, str] = {}
    ids: dict[str, str] = {}
    for m in messages:
        if m.key in keys:
            raise ValueError(f"two messages in the batch have the key {m.key!r}")
        if m.message_id in ids:
            raise ValueError(f"messages {ids[m.message_id]!r} and {m.key!r} share the Message-ID {m.message_id}")
        keys[m.key] = m.message_id
        ids[m.message_id] = m.key
    with journal.lock():
        return _Batch(messages, journal, config, progress, sleep).run()


def resend_unconfirmed(
    journal: Journal,
    config: SmtpConfig,
    keys: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchResult:
    """Send again the unconfirmed messages (all, or those of ``keys``) because a person chose to: exactly the
    bytes stored when each was first sent, same Message-ID, one try each (a second unknown outcome leaves it
    unconfirmed). When the server can be asked, it is asked first and nothing it holds is resent.
    A message whose bytes were not kept (a journal of an older cobro) stays unconfirmed, with the reason."""
    wanted = set(keys) if keys is not None else None
    with journal.lock():
        messages: list[OutgoingMessage] = []
        payloads: dict[str, bytes] = {}
        kept: list[MessageResult] = []
        for rec in journal.unconfirmed():
            if wanted is not None and rec.key not in wanted:
                continue
            payload = journal.payload(rec.key)
            m = _stored_message(rec, payload)
            if payload is None or m is None:
                kept.append(MessageResult(
                    key=rec.key, message_id=rec.message_id, status=UNCONFIRMED,
                    reason="its content was not kept (a journal of an older cobro): it cannot be resent as it was; "
                           "contact the customer another way", attempts=rec.attempts, to=rec.recipients, cc=(),
                    subject=rec.subject, meta=rec.meta, at=None, needs_log=False))
                continue
            journal.reopen_unconfirmed(rec.key, "resending at a person's request")
            messages.append(m)
            payloads[rec.key] = payload
        batch = _Batch(messages, journal, config, progress, sleep, payloads=payloads, resend=True).run()
    return BatchResult(batch.results + tuple(kept), error=batch.error, server=batch.server)


def _stored_message(rec: JournalRecord, payload: bytes | None) -> OutgoingMessage | None:
    """The envelope of a journaled message, read back from its stored bytes (the From header)."""
    if payload is None:
        return None
    from email.parser import BytesHeaderParser
    from email.utils import parseaddr

    headers = BytesHeaderParser(policy=default_policy).parsebytes(payload)
    sender = parseaddr(str(headers.get("From", "")))[1]
    if not sender or not rec.recipients:
        return None
    return OutgoingMessage(key=rec.key, message_id=rec.message_id, sender=sender, to=rec.recipients,
                           subject=rec.subject, text="(the stored message is sent)", meta=rec.meta)
