"""`cobro remind` / `cobro log` through the real CLI, a real workbook and a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from cobro.defaults import default_templates
from cobro.ledger import empty_ledger, make_frame, parse_settings
from cobro.schema import CUSTOMERS, INVOICES, LEVELS
from cobro_cli import run
from sheets_templates import build_workbook
from sync.journal import Journal, journal_path_for
from sync.xlsx_store import XlsxStore
from tests.smtp_helpers import SmtpTestServer, free_port

DUE = dt.date(2026, 3, 2)
LADDER = [("pre", -3, "email", "pre", False), ("due", 0, "email", "due", False), ("r1", 7, "email", "r1", False),
          ("letter", 30, "letter", "letter", False), ("final", 60, "email", "final", True)]


def one_invoice_ledger(path: Path, email: str = "ap@cliente.example", template_body: str | None = None) -> Path:
    settings = parse_settings({"locale": "es", "company_name": "Suministros Demo S.L.", "sender_name": "Cobros",
                               "sender_email": "cobros@demo.example", "business_days_only": "no",
                               "timezone": "Europe/Madrid", "country": "ES"})
    templates = default_templates()
    if template_body is not None:
        templates = templates.copy()
        templates.loc[templates["template"] == "due", "body"] = template_body
    led = replace(empty_ledger(settings),
                  customers=make_frame(CUSTOMERS, [{"customer_id": "C1", "name": "Cliente Uno S.L.",
                                                    "email": (email,) if email else (), "language": "es",
                                                    "currency": "EUR", "status": "active"}]),
                  invoices=make_frame(INVOICES, [{"invoice_id": "F-1", "customer_id": "C1",
                                                  "issue_date": DUE - dt.timedelta(days=30), "due_date": DUE,
                                                  "currency": "EUR", "amount": 121000, "status": "open"}]),
                  levels=make_frame(LEVELS, [dict(zip(("level", "days", "channel", "template", "stop"), lv,
                                                      strict=True)) for lv in LADDER]),
                  templates=templates)
    build_workbook(path, locale="es", ledger=led, as_of=DUE)
    return path


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> SmtpTestServer:
    with SmtpTestServer() as server:
        monkeypatch.setenv("COBRO_SMTP_HOST", server.host)
        monkeypatch.setenv("COBRO_SMTP_PORT", str(server.port))
        monkeypatch.setenv("COBRO_SMTP_SECURITY", "none")
        monkeypatch.delenv("COBRO_SMTP_USER", raising=False)
        monkeypatch.delenv("COBRO_SMTP_PASSWORD", raising=False)
        monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-cobro-test")
        yield server


def contacts(path: Path) -> pd.DataFrame:
    return XlsxStore(path).load().contacts


def fired(path: Path) -> list[tuple[str, dt.date]]:
    c = contacts(path)
    return [(lv, ts.date()) for lv, ts in zip(c["level"], c["timestamp"], strict=True) if lv]


@pytest.mark.slow
def test_timeline_day_by_day(tmp_path: Path, smtp: SmtpTestServer) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    for k in range(-10, 81):
        assert run(["remind", str(path), "--as-of", (DUE + dt.timedelta(days=k)).isoformat()]) == 0
    assert fired(path) == [("pre", DUE - dt.timedelta(days=3)), ("due", DUE), ("r1", DUE + dt.timedelta(days=7)),
                           ("letter", DUE + dt.timedelta(days=30)), ("final", DUE + dt.timedelta(days=60))]
    assert len(smtp.received) == 4 and len(set(smtp.received)) == 4  # four e-mails, each once
    assert (tmp_path / "letters" / (DUE + dt.timedelta(days=30)).isoformat() / "C1-letter.pdf").exists()
    inv = XlsxStore(path).load().invoices.iloc[0]
    assert inv["reminder_level"] == "final"


@pytest.mark.slow
def test_timeline_with_skipped_days(tmp_path: Path, smtp: SmtpTestServer) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    days = list(range(-5, 91, 10))
    for k in days:
        assert run(["remind", str(path), "--as-of", (DUE + dt.timedelta(days=k)).isoformat()]) == 0
    got = fired(path)
    assert [lv for lv, _ in got] == ["pre", "due", "r1", "letter", "final"]  # in order, none skipped, each once
    assert len({d for _, d in got}) == len(got)  # never two levels in one run
    offsets = dict((lv, off) for lv, off, *_ in LADDER)
    for (lv, d), (prev, pd_) in zip(got[1:], got[:-1], strict=True):
        assert d >= DUE + dt.timedelta(days=offsets[lv])  # threshold passed
        assert (d - pd_).days >= offsets[lv] - offsets[prev]  # gap between levels respected
    assert len(smtp.counts) == 4 and max(smtp.counts.values()) == 1


def test_same_day_rerun_sends_nothing_twice(tmp_path: Path, smtp: SmtpTestServer,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 0
    assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 0
    assert len(smtp.received) == 1
    assert len(contacts(path)) == 1


def test_dry_run_changes_nothing(tmp_path: Path, smtp: SmtpTestServer, capsys: pytest.CaptureFixture[str]) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    before = path.read_bytes()
    assert run(["remind", str(path), "--as-of", DUE.isoformat(), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "F-1" in out and "Dry run" in out
    assert path.read_bytes() == before and smtp.received == []


def test_promise_logged_by_hand_is_respected(tmp_path: Path, smtp: SmtpTestServer,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    day = DUE + dt.timedelta(days=7)
    promised = (day + dt.timedelta(days=5)).isoformat()
    assert run(["log", str(path), "C1", "--outcome", "promise", "--promise-date", promised,
                "--amount", "1.210,00", "--as-of", (day - dt.timedelta(days=1)).isoformat(), "--user", "ana"]) == 0
    c = contacts(path).iloc[0]
    assert (c["outcome"], c["promise_amount"], c["user"]) == ("promise", 121000, "ana")
    assert run(["remind", str(path), "--as-of", day.isoformat(), "--json"]) == 0
    assert smtp.received == []
    out = capsys.readouterr().out
    assert "promise" in out or "promesa" in out


def test_log_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    assert run(["log", str(path), "C9", "--outcome", "note"]) == 2
    assert "not in the Customers sheet" in capsys.readouterr().err
    assert run(["log", str(path), "C1", "--outcome", "promise"]) == 2
    assert "--promise-date" in capsys.readouterr().err
    assert run(["log", str(path), "C1", "--outcome", "promise", "--promise-date", "2026-04-01",
                "--amount", "12,345"]) == 2
    assert "--amount" in capsys.readouterr().err


def test_second_run_refuses_while_one_is_in_progress(tmp_path: Path, smtp: SmtpTestServer,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    with Journal(journal_path_for(path)) as j, j.lock():
        assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 2
    assert "a run is already in progress" in capsys.readouterr().err
    assert smtp.received == []


def test_smtp_down_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    port = free_port()
    monkeypatch.setenv("COBRO_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COBRO_SMTP_PORT", str(port))
    monkeypatch.setenv("COBRO_SMTP_SECURITY", "none")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-cobro-test")
    assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 1
    out = capsys.readouterr().out
    assert "pending" in out and "unreachable" in out
    assert len(contacts(path)) == 0  # nothing logged as sent
    with SmtpTestServer(port=port) as server:
        assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 0
        assert len(server.received) == 1
    assert contacts(path)["outcome"].tolist() == ["sent"]


def test_broken_template_stops_everything(tmp_path: Path, smtp: SmtpTestServer,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx", template_body="Hola {{ ''.__class__.__mro__ }}")
    assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 2
    err = capsys.readouterr().err
    assert "nothing was sent" in err and "due" in err
    assert smtp.received == []


def test_no_address_becomes_fix_contact_data(tmp_path: Path, smtp: SmtpTestServer,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx", email="")
    assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 0
    assert "Fix contact data" in capsys.readouterr().out
    assert smtp.received == []


def test_demo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):  # a rebuilt demo starts clean: same messages again, logged in the new workbook
        assert run(["demo", str(tmp_path), "--customers", "30", "--invoices", "600", "--seed", "3",
                    "--as-of", "2026-11-20"]) == 0
    out = capsys.readouterr().out
    assert "Aging as of 2026-11-20" in out and "Worklist" in out and "outbox" in out
    emls = list((tmp_path / "outbox").glob("**/*.eml"))
    led = XlsxStore(tmp_path / "cobranza-demo.xlsx").load()
    c = led.contacts
    today = c[(c["timestamp"].dt.date == dt.date(2026, 11, 20)) & c["message_id"].str.startswith("<cobro.")]
    sent = today[(today["outcome"] == "sent") & (today["channel"] == "email")]
    assert len(emls) == sent["message_id"].nunique() > 0


def test_interrupted_send_of_an_earlier_day_is_logged_not_resent(tmp_path: Path, smtp: SmtpTestServer,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A run died while the server was receiving the 'due' e-mail; the next day must not send 'due' again."""
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    assert run(["remind", str(path), "--as-of", DUE.isoformat(), "--dry-run", "--json"]) == 0
    import json

    item = json.loads(capsys.readouterr().out)["plan"]["items"][0]
    with Journal(journal_path_for(path)) as j:  # what the dead run left: intended and in flight, never "sent"
        key = f"C1|{item['level']}|{DUE.isoformat()}"
        meta = {"as_of": DUE.isoformat(), "contacts": [{
            "timestamp": f"{DUE.isoformat()}T09:00:00", "customer_id": "C1", "invoice_ids": ["F-1"],
            "channel": "email", "direction": "out", "level": item["level"], "outcome": "sent", "user": "cobro",
            "subject": item["subject"], "notes": "", "message_id": item["message_id"]}]}
        j.intend([{"key": key, "message_id": item["message_id"], "meta": meta}])
        j.start_attempt(key)
    nxt = DUE + dt.timedelta(days=1)
    assert run(["remind", str(path), "--as-of", nxt.isoformat()]) == 0
    c = contacts(path)
    assert c["level"].tolist() == [item["level"]] and "unconfirmed" in c["notes"].iloc[0]
    assert smtp.received == []  # nothing re-sent on the next day


def test_bad_sender_in_settings_names_its_row(tmp_path: Path, smtp: SmtpTestServer,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = one_invoice_ledger(tmp_path / "l.xlsx")
    wb = __import__("openpyxl").load_workbook(path)
    ws = wb["Configuración"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "sender_email")
    ws.cell(row=row, column=2, value="cobros at demo")
    wb.save(path)
    assert run(["remind", str(path), "--as-of", DUE.isoformat()]) == 2
    err = capsys.readouterr().err
    assert f"fila {row}" in err and "sender_email" in err and smtp.received == []


def test_dry_run_says_what_comes_next_for_everyone_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One story for "what next": the preview lists, for each customer with nothing due today, the planner's next
    step and its date (issue 13)."""
    import json

    path = one_invoice_ledger(tmp_path / "l.xlsx")
    before_due = DUE - dt.timedelta(days=10)
    assert run(["remind", str(path), "--as-of", before_due.isoformat(), "--dry-run", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["plan"]["items"] == []
    steps = data["next_steps"]
    assert [s["customer_id"] for s in steps] == ["C1"] and steps[0]["date"] > before_due.isoformat()
    assert run(["remind", str(path), "--as-of", before_due.isoformat(), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "what comes next" in out and "C1" in out and steps[0]["message"] in out
