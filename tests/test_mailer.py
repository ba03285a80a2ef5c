"""The mailer against a real SMTP server on loopback (aiosmtpd): message shape, header injection, permanent and
temporary errors, login, configuration, and the embedded local sink."""

from __future__ import annotations

import email
import email.policy
import shutil
import smtplib
from pathlib import Path

import keyring
import keyring.backend
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cobro.safety import HeaderInjectionError
from sync.config import ConfigError, SmtpConfig, default_config_path
from sync.journal import FAILED as J_FAILED
from sync.journal import INTENDED, Journal
from sync.mailer import (
    ALREADY_SENT,
    FAILED,
    PENDING,
    SENT,
    InvalidMessageError,
    OutgoingMessage,
    build_mime,
    message_bytes,
    message_id_for,
    send_batch,
)
from sync.smtp_sink import Outbox, local_sink, safe_name
from tests.smtp_helpers import SmtpTestServer, free_port, make_messages, self_signed_certificate, server_tls_context

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def reminder(key: str = "C001|L2|2024-03-31", **changes: object) -> OutgoingMessage:
    values: dict[str, object] = dict(
        key=key,
        message_id=message_id_for(key, "cobros.example.com"),
        sender="cobros@cobros.example.com",
        sender_name="Peña Hermanos, S.L.",
        reply_to="administracion@cobros.example.com",
        to=("pagos@cliente.example.net",),
        cc=("contabilidad@cliente.example.net",),
        subject="Recordatorio: factura F-2024-001 vencida — 30 días",
        text="Estimado cliente:\nLa factura F-2024-001 por 1.234,56 € venció el 01/03/2024.\n.\nGracias.\n",
        html="<p>Estimado cliente:</p><p>La factura <b>F-2024-001</b> por 1.234,56&nbsp;€ venció.</p>",
        attachments=(("Factura F-2024-001.pdf", PDF, "application/pdf"),),
        meta={"customer_id": "C001", "level": "L2", "invoice_ids": ("F-2024-001",)},
    )
    values.update(changes)
    return OutgoingMessage(**values)  # type: ignore[arg-type]


@pytest.fixture
def server():
    with SmtpTestServer() as srv:
        yield srv


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------- message


def test_message_arrives_with_text_html_message_id_reply_to_cc(server: SmtpTestServer, tmp_path: Path) -> None:
    msg = reminder()
    with Journal(tmp_path / "j.sqlite") as journal:
        result = send_batch([msg], journal, server.config())
    assert result.ok and result.summary() == "1 sent, 0 failed, 0 pending"
    (res,) = result.results
    assert res.status == SENT and res.attempts == 1 and res.needs_log and res.at is not None
    assert res.meta == msg.meta and res.to == msg.to and res.cc == msg.cc and res.message_id == msg.message_id
    assert server.received == [msg.message_id]
    mail_from, rcpts = server.handler.envelopes[0]
    assert mail_from == "cobros@cobros.example.com"
    assert rcpts == ("pagos@cliente.example.net", "contabilidad@cliente.example.net")
    got = parse(server.handler.raw[0])
    assert got["Message-ID"] == msg.message_id
    assert got["Reply-To"] == "administracion@cobros.example.com"
    assert got["Cc"] == "contabilidad@cliente.example.net"
    assert got["To"] == "pagos@cliente.example.net"
    assert got["From"].addresses[0].display_name == "Peña Hermanos, S.L."
    assert got["From"].addresses[0].addr_spec == "cobros@cobros.example.com"
    assert got["Subject"] == msg.subject
    assert got["Auto-Submitted"] == "auto-generated"
    assert got.get_content_type() == "multipart/mixed"
    alternative = next(p for p in got.walk() if p.get_content_type() == "multipart/alternative")
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    text = got.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = got.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n") == msg.text
    assert html.replace("\r\n", "\n").rstrip("\n") == msg.html
    (attachment,) = list(got.iter_attachments())
    assert attachment.get_filename() == "Factura F-2024-001.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF


def test_message_bytes_are_7bit_short_lines_and_deterministic() -> None:
    long_subject = "Recordatorio " + "muy importante sobre sus facturas pendientes de pago " * 4 + "ñ"
    msg = reminder(subject=long_subject, to=tuple(f"persona{i}@empresa-con-nombre-largo.example.com" for i in range(9)),
                   sender_name="Distribuciones Ñandú del Sur de la Península Ibérica, Sociedad Limitada")
    one = message_bytes(msg, date="Mon, 01 Apr 2024 10:00:00 +0200")
    two = message_bytes(msg, date="Mon, 01 Apr 2024 10:00:00 +0200")
    assert one == two  # boundaries derive from the Message-ID: a resend is the same message
    assert one.isascii()
    assert all(len(line) <= 78 for line in one.split(b"\r\n"))
    assert b"\n" not in one.replace(b"\r\n", b"")
    parsed = build_mime(msg, date="Mon, 01 Apr 2024 10:00:00 +0200")
    assert parsed["Subject"] == long_subject
    assert parsed["From"].addresses[0].display_name == msg.sender_name
    assert [a.addr_spec for a in parsed["To"].addresses] == list(msg.to)


def test_text_only_html_only_and_idn() -> None:
    text_only = build_mime(reminder(html="", attachments=()))
    assert text_only.get_content_type() == "text/plain"
    html_only = build_mime(reminder(text="", attachments=(), to="ana@peña.es"))
    assert html_only.get_content_type() == "text/html"
    assert html_only["To"] == "ana@xn--pea-8ma.es"  # IDN domains travel as punycode


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"subject": "Recordatorio\r\nBcc: victima@example.com"}, "subject"),
        ({"subject": "Recordatorio\nX-Evil: 1"}, "subject"),
        ({"sender_name": "Cobros\nBcc: victima@example.com"}, "sender name"),
        ({"sender_name": "Cobros\u2028Bcc: x@example.com"}, "sender name"),
        ({"to": ("pagos@cliente.example.net\r\nBcc: victima@example.com",)}, "to"),
        ({"reply_to": "a@b.es\nBcc: c@d.es"}, "Reply-To"),
        ({"attachments": (("f.pdf\r\nX: y", PDF, "application/pdf"),)}, "attachment filename"),
    ],
)
def test_header_injection_is_refused_and_never_sent(
    server: SmtpTestServer, tmp_path: Path, changes: dict[str, object], field: str
) -> None:
    msg = reminder(**changes)
    with pytest.raises(HeaderInjectionError, match=f"{field} contains a line break"):
        msg.validate()
    good = reminder(key="C002|L1|2024-03-31")
    with Journal(tmp_path / "j.sqlite") as journal:
        result = send_batch([msg, good], journal, server.config())
        bad = result.results[0]
        assert bad.status == FAILED and "line break" in bad.reason and bad.attempts == 0 and bad.needs_log
        assert journal.get(msg.key).state == J_FAILED  # type: ignore[union-attr]
        assert result.results[1].status == SENT
    assert server.received == [good.message_id]  # the bad one never reached the server
    assert all(b"victima" not in raw and b"X-Evil" not in raw for raw in server.handler.raw)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"to": ("no-arroba",)}, "to is not a valid e-mail address"),
        ({"to": ()}, "no recipient"),
        ({"cc": ("dos@@arrobas.es",)}, "cc is not a valid e-mail address"),
        ({"sender": "Cobros <cobros@example.com>"}, "sender is not a valid e-mail address"),
        ({"message_id": "sin-corchetes@example.com"}, "Message-ID must look like"),
        ({"text": "", "html": ""}, "neither a text nor an HTML body"),
        ({"attachments": (("f.pdf", PDF, "pdf"),)}, "invalid type"),
    ],
)
def test_invalid_messages_fail_clearly(server: SmtpTestServer, tmp_path: Path, changes: dict, match: str) -> None:
    msg = reminder(**changes)
    with pytest.raises(InvalidMessageError, match=match):
        msg.validate()
    with Journal(tmp_path / "j.sqlite") as journal:
        (res,) = send_batch([msg], journal, server.config()).results
    assert res.status == FAILED and match.split(" ")[0] in res.reason
    assert server.received == []


# ------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("pipelining", [True, False])
def test_550_is_failed_and_never_retried(tmp_path: Path, pipelining: bool) -> None:
    with SmtpTestServer(reject={"nadie@cliente.example.net"}, pipelining=pipelining) as srv:
        msgs = [reminder(to=("nadie@cliente.example.net",), cc=()), reminder(key="C002|L1|2024-03-31")]
        with Journal(tmp_path / "j.sqlite") as journal:
            result = send_batch(msgs, journal, srv.config(max_attempts=5))
            bad = result.results[0]
            assert bad.status == FAILED and "550" in bad.reason and "nadie@cliente.example.net" in bad.reason
            assert bad.attempts == 1
            assert srv.handler.rcpt_attempts["nadie@cliente.example.net"] == 1
            assert result.results[1].status == SENT
            assert not result.ok and result.error == ""
            again = send_batch(msgs, journal, srv.config())  # a rerun does not try again
            assert [r.status for r in again.results] == [FAILED, ALREADY_SENT]
            assert srv.handler.rcpt_attempts["nadie@cliente.example.net"] == 1
            assert [r.key for r in again.to_log()] == [m.key for m in msgs]  # nothing logged yet
            journal.mark_logged([m.key for m in msgs])
            assert send_batch(msgs, journal, srv.config()).to_log() == []
        assert srv.received == [msgs[1].message_id]


def test_one_refused_cc_does_not_stop_the_message(tmp_path: Path) -> None:
    with SmtpTestServer(reject={"contabilidad@cliente.example.net"}) as srv:
        with Journal(tmp_path / "j.sqlite") as journal:
            (res,) = send_batch([reminder()], journal, srv.config()).results
        assert res.status == SENT and "not delivered to contabilidad@cliente.example.net: 550" in res.reason
        assert srv.handler.envelopes[0][1] == ("pagos@cliente.example.net",)


@pytest.mark.parametrize("pipelining", [True, False])
def test_temporary_errors_are_retried_with_backoff(tmp_path: Path, pipelining: bool) -> None:
    delays: list[float] = []
    with SmtpTestServer(tempfail={"pagos@cliente.example.net": 2}, pipelining=pipelining) as srv:
        with Journal(tmp_path / "j.sqlite") as journal:
            config = srv.config(max_attempts=4, backoff=0.5, backoff_max=0.8)
            (res,) = send_batch([reminder(cc=())], journal, config, sleep=delays.append).results
        assert res.status == SENT and res.attempts == 3
        assert delays == [0.5, 0.8]  # exponential, capped
        assert srv.received == [reminder().message_id]


def test_persistent_temporary_error_leaves_the_message_pending(tmp_path: Path) -> None:
    msg = reminder(cc=())
    with SmtpTestServer(tempfail={"pagos@cliente.example.net": 2}) as srv:
        with Journal(tmp_path / "j.sqlite") as journal:
            (res,) = send_batch([msg], journal, srv.config(max_attempts=2)).results
            assert res.status == PENDING and "451" in res.reason and "next run" in res.reason
            assert not res.needs_log
            rec = journal.get(msg.key)
            assert rec and rec.state == INTENDED and not rec.in_flight and rec.attempts == 2
            assert srv.received == []
            (res,) = send_batch([msg], journal, srv.config(max_attempts=2)).results  # a later run
            assert res.status == SENT and res.attempts == 3
        assert srv.received == [msg.message_id]


def test_one_connection_per_batch_and_progress(server: SmtpTestServer, tmp_path: Path) -> None:
    ticks: list[int] = []
    msgs = make_messages(60, "conn")
    with Journal(tmp_path / "j.sqlite") as journal:
        result = send_batch(msgs, journal, server.config(), progress=ticks.append)
    assert len(result.sent) == 60 and ticks == [1] * 60
    assert server.handler.connections == 1
    assert server.received == [m.message_id for m in msgs]  # in order


def test_batch_level_mistakes_raise_before_sending(server: SmtpTestServer, tmp_path: Path) -> None:
    a = reminder()
    with Journal(tmp_path / "j.sqlite") as journal:
        with pytest.raises(ValueError, match="two messages in the batch have the key"):
            send_batch([a, a], journal, server.config())
        with pytest.raises(ValueError, match="share the Message-ID"):
            send_batch([a, reminder(key="other", message_id=a.message_id)], journal, server.config())
        send_batch([a], journal, server.config())
        with pytest.raises(ValueError, match="one key, one Message-ID"):
            send_batch([reminder(message_id="<different@cobros.example.com>")], journal, server.config())
    assert server.received == [a.message_id]


# -------------------------------------------------------------------------------------- connection


def test_login_with_user_and_password(tmp_path: Path) -> None:
    with SmtpTestServer(auth={"cobro-user": "s3cr3t"}) as srv:
        with Journal(tmp_path / "j.sqlite") as journal:
            result = send_batch([reminder()], journal, srv.config(user="cobro-user", password="s3cr3t"))
        assert result.ok and srv.logins == ["cobro-user"]  # a login without "@" is kept as it is


def test_login_refused_keeps_everything_pending(tmp_path: Path) -> None:
    with SmtpTestServer(auth={"cobro-user": "s3cr3t"}) as srv:
        with Journal(tmp_path / "j.sqlite") as journal:
            result = send_batch(make_messages(3, "auth"), journal, srv.config(user="cobro-user", password="wrong"))
            assert [r.status for r in result.results] == [PENDING] * 3
            assert result.error.startswith(f"SMTP login refused for user 'cobro-user' at 127.0.0.1:{srv.port}: 535")
            assert result.error.endswith("3 messages pending, nothing lost")
            assert "wrong" not in result.error
            assert len(journal.pending()) == 3
        assert srv.received == []


def test_non_ascii_password_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    with SmtpTestServer(auth={"cobro-user": "contraseña"}) as srv:
        with Journal(tmp_path / "j.sqlite") as journal:
            result = send_batch([reminder()], journal, srv.config(user="cobro-user", password="contraseña"))
        assert "contains characters (such as accents) that SMTP login cannot carry" in result.error
        assert "contraseña" not in result.error and result.results[0].status == PENDING


def test_starttls_not_offered_is_a_clear_error(server: SmtpTestServer, tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as journal:
        result = send_batch([reminder()], journal, server.config(security="starttls"))
    assert "does not support" in result.error and "COBRO_SMTP_SECURITY=starttls" in result.error
    assert result.results[0].status == PENDING and server.received == []


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")


@needs_openssl
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_is_used_and_the_certificate_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    context = server_tls_context(cert, key)
    tls = {"tls_context": context} if security == "starttls" else {"ssl_context": context}
    with SmtpTestServer(auth={"cobro-user": "s3cr3t"}, **tls) as srv:  # type: ignore[arg-type]
        config = srv.config(security=security, user="cobro-user", password="s3cr3t")
        with Journal(tmp_path / "j.sqlite") as journal:
            untrusted = send_batch([reminder()], journal, config)
            assert untrusted.results[0].status == PENDING and srv.received == []
            assert "TLS with the SMTP server at" in untrusted.error and "certificate" in untrusted.error
            monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now the client trusts this server's certificate
            result = send_batch([reminder()], journal, config)
        assert result.ok and srv.handler.tls == [True] and srv.logins == ["cobro-user"]


def test_unreachable_server_message(tmp_path: Path) -> None:
    port = free_port()
    delays: list[float] = []
    config = SmtpConfig(host="127.0.0.1", port=port, security="none", max_attempts=3, backoff=0.25)
    with Journal(tmp_path / "j.sqlite") as journal:
        result = send_batch(make_messages(4, "down"), journal, config, sleep=delays.append)
    assert result.error.startswith(f"SMTP server unreachable at 127.0.0.1:{port}; 4 messages pending, nothing lost")
    assert "connection refused" in result.error
    assert delays == [0.25, 0.5]  # the connection is retried with backoff before giving up


# ------------------------------------------------------------------------------------------ config


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


def test_nothing_configured_means_local_sink(tmp_path: Path) -> None:
    assert SmtpConfig.from_env({"HOME": str(tmp_path)}) is None
    assert SmtpConfig.from_env({"HOME": str(tmp_path), "COBRO_SMTP_HOST": "  "}) is None


def test_config_from_environment(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "COBRO_SMTP_HOST": "smtp.example.com", "COBRO_SMTP_SECURITY": "SSL",
           "COBRO_SMTP_USER": "cobros@example.com", "COBRO_SMTP_PASSWORD": "p4ss word"}
    config = SmtpConfig.from_env(env)
    assert config is not None
    assert (config.host, config.port, config.security, config.user, config.password) == (
        "smtp.example.com", 465, "ssl", "cobros@example.com", "p4ss word")
    assert "p4ss" not in repr(config) and "p4ss" not in str(config) and "password='***'" in repr(config)
    starttls = SmtpConfig.from_env({"COBRO_SMTP_HOST": "smtp.example.com"})
    assert starttls is not None and (starttls.port, starttls.security, starttls.user) == (587, "starttls", "")
    plain = SmtpConfig.from_env({"COBRO_SMTP_HOST": "relay.lan", "COBRO_SMTP_SECURITY": "none",
                                 "COBRO_SMTP_PORT": "2525", "COBRO_SMTP_MAX_ATTEMPTS": "2"})
    assert plain is not None and (plain.port, plain.max_attempts) == (2525, 2)


def test_config_file_and_precedence(tmp_path: Path) -> None:
    cfg_dir = tmp_path / "xdg" / "cobro"
    cfg_dir.mkdir(parents=True)
    (cfg_dir / "config.toml").write_text(
        '[smtp]\nhost = "smtp.file.example"\nport = 2525\nsecurity = "starttls"\nuser = "u@file.example"\n'
        'password = "from-file"\ntimeout = 12.5\nbackoff = 0.1\n', encoding="utf-8")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    assert default_config_path(env) == cfg_dir / "config.toml"
    config = SmtpConfig.from_env(env)
    assert config is not None
    assert (config.host, config.port, config.user, config.password, config.timeout, config.backoff) == (
        "smtp.file.example", 2525, "u@file.example", "from-file", 12.5, 0.1)
    assert str(cfg_dir / "config.toml") in config.source
    overridden = SmtpConfig.from_env({**env, "COBRO_SMTP_PORT": "587"})  # the environment wins, key by key
    assert overridden is not None and (overridden.port, overridden.host) == (587, "smtp.file.example")
    envstyle = tmp_path / "other.toml"
    envstyle.write_text('COBRO_SMTP_HOST = "smtp.envstyle.example"\nCOBRO_SMTP_SECURITY = "none"\n')
    config = SmtpConfig.from_env({"HOME": str(tmp_path)}, config_path=envstyle)
    assert config is not None and (config.host, config.port) == ("smtp.envstyle.example", 25)
    config = SmtpConfig.from_env({"HOME": str(tmp_path), "COBRO_CONFIG": str(envstyle)})
    assert config is not None and config.host == "smtp.envstyle.example"


@pytest.mark.parametrize(
    "env, file_text, match",
    [
        ({"COBRO_SMTP_HOST": "h", "COBRO_SMTP_PORT": "abc"}, None, "COBRO_SMTP_PORT must be a whole number"),
        ({"COBRO_SMTP_HOST": "h", "COBRO_SMTP_PORT": "70000"}, None, "port must be a whole number from 1 to 65535"),
        ({"COBRO_SMTP_HOST": "h", "COBRO_SMTP_SECURITY": "tls"}, None, "security must be one of ssl, starttls, none"),
        ({"COBRO_SMTP_USER": "u@example.com"}, None, "no host"),
        ({"COBRO_SMTP_HOST": "h", "COBRO_SMTP_PASSWORD": "x"}, None, "password is set but no user"),
        ({}, '[smtp]\nhots = "h"\n', "unknown key 'hots' in \\[smtp\\]"),
        ({}, "[smtp\nhost = 1", "is not valid TOML"),
        ({}, '[smtp]\nhost = "h"\nport = "x"\n', "port in .* must be a whole number"),
        ({}, 'smtp = "h"\n', "must be a table"),
    ],
)
def test_config_errors_are_clear(tmp_path: Path, env: dict, file_text: str | None, match: str) -> None:
    path = None
    if file_text is not None:
        path = tmp_path / "config.toml"
        path.write_text(file_text)
    with pytest.raises(ConfigError, match=match):
        SmtpConfig.from_env({"HOME": str(tmp_path), **env}, config_path=path)


def test_missing_named_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found: .*nope.toml \\(from COBRO_CONFIG\\)"):
        SmtpConfig.from_env({"COBRO_CONFIG": str(tmp_path / "nope.toml")})


def test_password_from_the_system_keyring(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "COBRO_SMTP_HOST": "smtp.example.com", "COBRO_SMTP_USER": "cobros@example.com"}
    with pytest.raises(ConfigError, match="keyring set cobro cobros@example.com"):
        SmtpConfig.from_env(env, keyring_lookup=lambda service, user: None)
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        keyring.set_password("cobro", "cobros@example.com", "from-keyring")
        config = SmtpConfig.from_env(env)
        assert config is not None and config.password == "from-keyring" and "keyring" in config.source
        assert "from-keyring" not in repr(config)
    finally:
        keyring.set_keyring(previous)


# -------------------------------------------------------------------------------------- local sink


def test_local_sink_files_each_message_once(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    msgs = [reminder(), reminder(key="C002|L1|2024-03-31", attachments=())]
    with local_sink(outbox) as config, Journal(tmp_path / "j.sqlite") as journal:
        assert config.host == "127.0.0.1" and config.security == "none" and config.already_delivered is not None
        result = send_batch(msgs, journal, config)
        assert result.ok
        assert config.already_delivered(msgs[0].message_id)
        assert not config.already_delivered("<never@example.com>")
        # a second delivery of the same Message-ID (e.g. by another client) is acknowledged, not stored twice
        with smtplib.SMTP(config.host, config.port) as smtp:
            smtp.ehlo()
            assert smtp.mail("x@example.com")[0] == 250 and smtp.rcpt("y@example.com")[0] == 250
            code, answer = smtp.data(message_bytes(msgs[0]))
            assert code == 250 and b"not stored twice" in answer
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    for path, msg in zip(sorted(files, key=lambda p: p.name.split("_", 1)[1]), sorted(
            msgs, key=lambda m: safe_name(m.message_id)), strict=True):
        assert path.name.endswith(f"_{safe_name(msg.message_id)}.eml")
        assert path.name[:8].isdigit() and path.name[8] == "-"  # YYYYMMDD-HHMMSS_
        assert parse(path.read_bytes())["Message-ID"] == msg.message_id


def test_outbox_index_survives_restart_and_cleans_partial_writes(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    content = b"Message-ID: <abc@example.com>\r\nSubject: x\r\n\r\nbody\r\n"
    path, stored = outbox.store(content)
    assert stored and path is not None and path.read_bytes() == content
    assert outbox.store(content) == (None, False)
    (tmp_path / ".half-written.123.4.part").write_bytes(b"Message-ID: <zzz@example.com>\r\n")
    again = Outbox(tmp_path)  # a new process
    assert again.already_delivered("<abc@example.com>") and not again.already_delivered("<zzz@example.com>")
    assert not list(tmp_path.glob("*.part")) and len(again) == 1
    assert not again.already_delivered("<a[b]*?@example.com>")  # glob characters are taken literally
    third = Outbox(tmp_path)  # opened before the next store, by another part of the program
    again.store(b"Message-ID: <later@example.com>\r\n\r\nx\r\n")
    assert third.already_delivered("<later@example.com>")  # it looks at the folder
    no_id, stored = again.store(b"Subject: no id\r\n\r\nx\r\n")
    assert stored and no_id is not None and "no-message-id" in no_id.name


def test_safe_names_are_distinct_and_safe() -> None:
    a, b = safe_name("<a/b@example.com>"), safe_name("<a_b@example.com>")
    assert a != b and "/" not in a and a.startswith("a_b_example.com-")
    assert safe_name("<x@y>") == safe_name("<x@y>")


def test_message_id_for_is_deterministic() -> None:
    one = message_id_for("C001|L2|2024-03-31", "cobros.example.com")
    assert one == message_id_for("C001|L2|2024-03-31", "cobros.example.com")
    assert one != message_id_for("C001|L2|2024-04-01", "cobros.example.com")
    assert one.startswith("<cobro.") and one.endswith("@cobros.example.com>")
    assert message_id_for("k", "peña.es").endswith("@xn--pea-8ma.es>")


# ---------------------------------------------------------------------------------------- properties

_LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
header_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=_LINE_BREAKS + "\t"),
                      max_size=150).map(lambda t: " ".join(t.split(" ")).strip())
body_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), min_size=1,
                    max_size=400)


@settings(max_examples=150, deadline=None)
@given(subject=header_text, name=header_text, text=body_text, html=body_text)
def test_any_subject_name_and_body_survive_the_trip(subject: str, name: str, text: str, html: str) -> None:
    msg = reminder(subject=subject, sender_name=name, text=text, html=html, attachments=())
    raw = message_bytes(msg)
    assert raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = build_mime(msg)
    assert str(parsed["Subject"]) == subject
    assert parsed["Message-ID"] == msg.message_id
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == text  # type: ignore[union-attr]
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == html  # type: ignore[union-attr]
    if name.isprintable() and name.strip():
        # CPython's address parser puts a space between adjacent encoded words of a long name (RFC 2047 says to
        # join them; mail programs do): compare without spaces
        assert "".join(parsed["From"].addresses[0].display_name.split()) == "".join(name.split())


# ------------------------------------------------------------------- one address rule, SMTPUTF8 (issue 7)


def test_planner_and_mailer_agree_on_addresses(tmp_path: Path) -> None:
    """``josé@empresa.es`` is valid for both; ``ana@localhost`` for neither (cobro.addresses is the one rule)."""
    from cobro.addresses import is_valid_email
    from cobro.reminders import is_valid_email as planner_rule

    assert planner_rule is is_valid_email
    assert is_valid_email("josé@empresa.es") and not is_valid_email("ana@localhost")
    reminder(to=("josé@empresa.es",)).validate()
    with pytest.raises(InvalidMessageError, match="ana@localhost"):
        reminder(to=("ana@localhost",)).validate()
    # an IDN domain is sent in its ASCII form
    assert "To: info@xn--can-8mak.es" in message_bytes(reminder(to=("info@cañón.es",), cc=())).decode()


def test_non_ascii_local_part_goes_with_smtputf8_when_offered(tmp_path: Path) -> None:
    msgs = [reminder(to=("josé@empresa.es",), cc=()), reminder(key="C002|L1|2024-03-31", cc=())]
    with SmtpTestServer(smtputf8=True) as srv, Journal(tmp_path / "j.sqlite") as journal:
        result = send_batch(msgs, journal, srv.config())
        assert result.ok, result.summary()
        assert srv.handler.envelopes[0][1] == ("josé@empresa.es",)
        assert "To: josé@empresa.es".encode() in srv.handler.raw[0]  # RFC 6532: the header in UTF-8
        assert "josé".encode() not in srv.handler.raw[1]  # only the message that needs it


def test_non_ascii_local_part_fails_clearly_when_the_server_lacks_smtputf8(tmp_path: Path) -> None:
    msgs = [reminder(to=("josé@empresa.es",), cc=()), reminder(key="C002|L1|2024-03-31", cc=())]
    with SmtpTestServer(smtputf8=False) as srv, Journal(tmp_path / "j.sqlite") as journal:
        result = send_batch(msgs, journal, srv.config())
        first, second = result.results
        assert first.status == FAILED and "SMTPUTF8" in first.reason and "josé@empresa.es" in first.reason
        assert second.status == SENT  # a per-message failure: the batch goes on
        assert len(srv.received) == 1


# ------------------------------------------------------------------------- the outbox (issue 15)


def test_outbox_refuses_loudly_another_message_under_a_message_id_it_holds(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    first = reminder()
    other = reminder(subject="Otro libro, otra factura")  # same Message-ID, different content
    with local_sink(outbox) as config, Journal(tmp_path / "a.sqlite") as ja, Journal(tmp_path / "b.sqlite") as jb:
        assert send_batch([first], ja, config).ok
        again = send_batch([first], jb, config)  # the same message again (another journal): acknowledged once
        assert again.results[0].status == SENT
        with smtplib.SMTP(config.host, config.port) as smtp:
            smtp.ehlo()
            smtp.mail("x@example.com")
            smtp.rcpt("y@example.com")
            code, answer = smtp.data(message_bytes(other))
        assert code == 554 and first.message_id.encode() in answer
    (path,) = outbox.glob("*.eml")
    assert b"Otro libro" not in path.read_bytes()
    assert path.stat().st_mode & 0o777 == 0o600  # reminders are readable by their owner only
