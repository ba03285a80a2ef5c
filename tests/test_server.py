"""The sync service (``server.py``): Flask's test client for the routes, waitress on loopback for real HTTP, and a
real aiosmtpd server for the mail. No mocks."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import validate as validate_schema
from openapi_spec_validator import validate as validate_spec

from cobro.defaults import default_templates
from cobro.demo.generate import generate_ledger
from cobro.ledger import empty_ledger, make_frame, parse_settings
from cobro.schema import CUSTOMERS, INVOICES
from server import OPENAPI_PATH, create_app
from sheets_templates import build_workbook
from sync.journal import Journal, journal_path_for
from sync.tokens import TokenStore
from sync.xlsx_store import XlsxStore
from tests.smtp_helpers import SmtpTestServer
from tests.waitress_thread import running

REPO = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 20)  # a Friday, not a holiday in Spain
SPEC = yaml.safe_load(OPENAPI_PATH.read_text("utf-8"))


# ------------------------------------------------------------------------------------------- fixtures


def small_ledger(path: Path, template_body: str | None = None) -> Path:
    """Three customers with one invoice each, due 10 days before AS_OF: three e-mails are due."""
    settings = parse_settings({"locale": "es", "company_name": "Suministros Demo S.L.", "sender_name": "Cobros",
                               "sender_email": "cobros@demo.example", "timezone": "Europe/Madrid",
                               "country": "ES"})
    templates = default_templates()
    if template_body is not None:
        templates = templates.copy()
        templates.loc[templates["template"] == "pre", "body"] = template_body
    customers = make_frame(CUSTOMERS, [{"customer_id": f"C{i}", "name": f"Cliente {i} S.L.",
                                        "email": (f"c{i}@cliente.example",), "language": "es",
                                        "currency": "EUR", "status": "active"} for i in (1, 2, 3)])
    invoices = make_frame(INVOICES, [{"invoice_id": f"F-{i}", "customer_id": f"C{i}",
                                      "issue_date": AS_OF - dt.timedelta(days=40),
                                      "due_date": AS_OF - dt.timedelta(days=10), "amount": 100_000 * i,
                                      "currency": "EUR", "status": "open"} for i in (1, 2, 3)])
    led = replace(empty_ledger(settings), customers=customers, invoices=invoices, templates=templates)
    build_workbook(path, locale="es", ledger=led, as_of=AS_OF)
    return path


@pytest.fixture(autouse=True)
def _isolated(isolated_env: Path) -> Path:
    """Every test here runs in the conftest's isolated environment."""
    return isolated_env


@pytest.fixture(scope="module")
def small_book(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return small_ledger(tmp_path_factory.mktemp("book") / "cobranza.xlsx").read_bytes()


@pytest.fixture(scope="module")
def generated_book(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("gen") / "demo.xlsx"
    led = generate_ledger(customers=8, invoices=60, seed=7, locale="es", as_of=AS_OF)
    build_workbook(path, locale="es", ledger=led, as_of=AS_OF)
    return path.read_bytes()


@pytest.fixture
def ledger(tmp_path: Path, small_book: bytes) -> Path:
    folder = tmp_path / "ledgers"
    folder.mkdir()
    path = folder / "cobranza.xlsx"
    path.write_bytes(small_book)
    return path


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


@dataclass
class Api:
    app: Flask
    client: FlaskClient
    token: str
    tokens: TokenStore
    path: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.auth, **kw)

    def post(self, url: str, body: Any = None, **kw: Any) -> Any:
        if body is not None:
            kw["json"] = body
        return self.client.post(url, headers=self.auth, **kw)


def make_api(path: Path, home: Path, smtp: SmtpTestServer | None = None, **kw: Any) -> Api:
    tokens = TokenStore(home)
    cfg = smtp.config(already_delivered=smtp.already_delivered) if smtp is not None else None
    app = create_app({"cobranza": str(path)}, token_store=tokens, smtp_config=cfg, **kw)
    return Api(app, app.test_client(), tokens.token_for(path), tokens, path)


@pytest.fixture
def api(ledger: Path, isolated_env: Path, smtp: SmtpTestServer) -> Api:
    return make_api(ledger, isolated_env, smtp)


def schema_check(instance: Any, name: str) -> None:
    """The response agrees with the component schema ``name`` of openapi.yaml."""
    validate_schema(instance, {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]},
                    cls=OAS30Validator)


def contacts_of(path: Path) -> Any:
    return XlsxStore(path).load().contacts


# ------------------------------------------------------------------------------------------- health and auth


def test_health_needs_no_token_and_says_nothing_about_ledgers(api: Api) -> None:
    r = api.client.get("/health")
    assert r.status_code == 200
    assert set(r.json) == {"status", "version"} and r.json["status"] == "ok" and r.json["version"]


ROUTES = [("GET", "/api/summary"), ("POST", "/api/reminders/preview"), ("POST", "/api/reminders/send"),
          ("POST", "/api/contacts"), ("POST", "/api/reconcile"), ("POST", "/api/reconcile/apply"),
          ("GET", "/api/openapi.yaml"), ("GET", "/api/openapi.json"), ("POST", "/api/tables/summary"),
          ("POST", "/api/tables/reminders/preview"), ("POST", "/api/tables/refresh")]


@pytest.mark.parametrize("method,url", ROUTES)
def test_every_api_route_wants_a_token(api: Api, smtp: SmtpTestServer, method: str, url: str) -> None:
    before = api.path.read_bytes()
    r = api.client.open(url, method=method, json={})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in r.json["error"]
    assert api.path.read_bytes() == before and smtp.received == []


@pytest.mark.parametrize("header", ["", "Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Bearer cobro_wrong",
                                    "Token {token}", "Bearer {token}x", "Bearer {other}"])
def test_missing_malformed_or_unknown_tokens_get_401(api: Api, tmp_path: Path, small_book: bytes,
                                                     header: str) -> None:
    other = tmp_path / "otra.xlsx"  # registered in the same store, but not served by this app
    other.write_bytes(small_book)
    value = header.format(token=api.token, other=api.tokens.token_for(other))
    r = api.client.get("/api/summary", headers={"Authorization": value} if value else {})
    assert r.status_code == 401, r.json
    assert r.headers["WWW-Authenticate"].startswith("Bearer realm=\"cobro\"")
    assert set(r.json) == {"error"}


def test_the_token_selects_the_ledger(tmp_path: Path, small_book: bytes, generated_book: bytes,
                                      isolated_env: Path) -> None:
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    a.write_bytes(small_book)
    b.write_bytes(generated_book)
    tokens = TokenStore(isolated_env)
    client = create_app([a, b], token_store=tokens).test_client()
    for path, name in ((a, "a"), (b, "b")):
        r = client.get(f"/api/summary?as_of={AS_OF}", headers={"Authorization": f"Bearer {tokens.token_for(path)}"})
        assert r.status_code == 200 and r.json["ledger"] == name
    ids_a = {row["customer_id"] for row in client.get(
        "/api/summary", headers={"Authorization": f"Bearer {tokens.token_for(a)}"}).json["aging"]["rows"]}
    assert ids_a == {"C1", "C2", "C3"}


def test_create_app_registers_a_token_for_each_ledger_and_a_rotation_takes_effect_at_once(
        ledger: Path, isolated_env: Path) -> None:
    tokens = TokenStore(isolated_env)
    assert not tokens.has_token(ledger)
    client = create_app({"x": ledger}, token_store=TokenStore(isolated_env)).test_client()
    assert tokens.has_token(ledger)  # `cobro token` will print it; the app never does
    old = tokens.token_for(ledger)
    assert client.get("/api/summary", headers={"Authorization": f"Bearer {old}"}).status_code == 200
    new = tokens.token_for(ledger, rotate=True)  # another TokenStore object, as `cobro token --rotate` would be
    assert client.get("/api/summary", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get("/api/summary", headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_create_app_refuses_what_it_cannot_serve(tmp_path: Path, ledger: Path) -> None:
    from sync.xlsx_store import WorkbookError

    with pytest.raises(WorkbookError, match="no such file"):
        create_app([tmp_path / "nope.xlsx"], token_store=TokenStore(tmp_path / "h"))
    (tmp_path / "notes.csv").write_text("a,b\n")
    with pytest.raises(WorkbookError, match=".xlsx"):
        create_app([tmp_path / "notes.csv"], token_store=TokenStore(tmp_path / "h"))
    with pytest.raises(ValueError, match="served twice"):
        create_app({"a": ledger, "b": ledger.parent / ".." / ledger.parent.name / ledger.name},
                   token_store=TokenStore(tmp_path / "h"))


# ------------------------------------------------------------------------------------------- request errors


def test_a_body_over_the_limit_gets_413_in_json(ledger: Path, isolated_env: Path, small_book: bytes) -> None:
    api = make_api(ledger, isolated_env, max_body_bytes=1024)
    r = api.post("/api/contacts", data=b'{"notes": "' + b"x" * 2000 + b'"}', content_type="application/json")
    assert r.status_code == 413 and "1,024 bytes" in r.json["error"]
    assert api.path.read_bytes() == small_book


@pytest.mark.parametrize("raw,field", [
    (b"{bad json", "body"),
    (b'{"as_of": "2026-11-20",}', "body"),
    (b"\xff\xfe{}", "body"),
    (b"[1, 2]", "body"),
    (b'"hello"', "body"),
    (b'{"as_of": NaN}', "body"),
    (b'{"as_of": "20/11/2026"}', "as_of"),
    (b'{"as_of": "2026-02-30"}', "as_of"),
    (b'{"as_of": 20261120}', "as_of"),
    (b'{"asof": "2026-11-20"}', "asof"),
])
def test_malformed_json_and_wrong_fields_get_400_naming_the_field(api: Api, raw: bytes, field: str) -> None:
    r = api.post("/api/reminders/preview", data=raw, content_type="application/json")
    assert r.status_code == 400, r.json
    assert r.json["field"] == field and r.json["error"]
    assert "Traceback" not in r.get_data(as_text=True)


@pytest.mark.parametrize("body,field", [
    ({"outcome": "reached"}, "customer_id"),
    ({"customer_id": "", "outcome": "reached"}, "customer_id"),
    ({"customer_id": 42, "outcome": "reached"}, "customer_id"),
    ({"customer_id": "C9", "outcome": "reached"}, "customer_id"),
    ({"customer_id": "C1"}, "outcome"),
    ({"customer_id": "C1", "outcome": "promised"}, "outcome"),
    ({"customer_id": "C1", "outcome": "promise"}, "promise_date"),
    ({"customer_id": "C1", "outcome": "promise", "promise_date": "5/12/2026"}, "promise_date"),
    ({"customer_id": "C1", "outcome": "promise", "promise_date": "2026-12-05", "promise_amount": "doce"},
     "promise_amount"),
    ({"customer_id": "C1", "outcome": "promise", "promise_date": "2026-12-05", "promise_amount": "10.001"},
     "promise_amount"),
    ({"customer_id": "C1", "outcome": "promise", "promise_date": "2026-12-05", "promise_amount": True},
     "promise_amount"),
    ({"customer_id": "C1", "outcome": "promise", "promise_date": "2026-12-05", "promise_amount": "-5"},
     "promise_amount"),
    ({"customer_id": "C1", "outcome": "dispute", "invoice_ids": "F-1"}, "invoice_ids"),
    ({"customer_id": "C1", "outcome": "dispute", "invoice_ids": ["F-9"]}, "invoice_ids"),
    ({"customer_id": "C1", "outcome": "dispute", "invoice_ids": ["F-2"]}, "invoice_ids"),
    ({"customer_id": "C1", "outcome": "note", "channel": "pigeon"}, "channel"),
    ({"customer_id": "C1", "outcome": "note", "direction": "sideways"}, "direction"),
    ({"customer_id": "C1", "outcome": "note", "notes": ["a"]}, "notes"),
    ({"customer_id": "C1", "outcome": "note", "notes": "x" * 40_000}, "notes"),
    ({"customer_id": "C1", "outcome": "note", "promisedate": "2026-12-05"}, "promisedate"),
])
def test_contacts_refuses_wrong_fields_by_name_and_writes_nothing(api: Api, body: dict[str, Any],
                                                                  field: str) -> None:
    before = api.path.read_bytes()
    r = api.post("/api/contacts", body)
    assert r.status_code == 400, r.json
    assert r.json["field"] == field
    schema_check(r.json, "Error")
    assert api.path.read_bytes() == before


def test_wrong_query_parameters_of_the_summary(api: Api) -> None:
    assert api.get("/api/summary?months=0").json["field"] == "months"
    assert api.get("/api/summary?months=abc").json["field"] == "months"
    assert api.get("/api/summary?as_of=yesterday").json["field"] == "as_of"
    r = api.get("/api/summary?asof=2026-11-20")
    assert r.status_code == 400 and r.json["field"] == "asof"


def test_unknown_routes_and_methods_answer_json(api: Api) -> None:
    r = api.get("/api/nothing-here")
    assert r.status_code == 404 and "error" in r.json
    r = api.client.delete("/api/summary", headers=api.auth)
    assert r.status_code == 405 and "error" in r.json and "GET" in r.headers["Allow"]


# ------------------------------------------------------------------------------------------- summary


def test_summary_has_aging_kpis_and_worklist(tmp_path: Path, generated_book: bytes, isolated_env: Path) -> None:
    path = tmp_path / "demo.xlsx"
    path.write_bytes(generated_book)
    api = make_api(path, isolated_env)
    r = api.get(f"/api/summary?as_of={AS_OF}&months=6")
    assert r.status_code == 200
    data = r.json
    schema_check(data, "Summary")
    assert data["ledger"] == "cobranza" and data["as_of"] == "2026-11-20" and data["months"] == 6
    assert data["aging"]["as_of"] == data["kpis"]["as_of"] == data["worklist"]["as_of"] == "2026-11-20"
    assert data["kpis"]["months"] == 6
    assert data["aging"]["rows"] and set(data["aging"]["totals"]) <= {"EUR", "USD"}
    for row in data["aging"]["rows"]:  # money as exact decimal strings, never floats
        assert re.fullmatch(r"-?\d+\.\d{2}", row["outstanding"])
    assert [w["rank"] for w in data["worklist"]["rows"]] == list(range(1, len(data["worklist"]["rows"]) + 1))
    assert path.read_bytes() == generated_book  # a report writes nothing


def test_as_of_defaults_to_today_in_the_company_time_zone(api: Api) -> None:
    before = dt.datetime.now(ZoneInfo("Europe/Madrid")).date()
    data = api.get("/api/summary").json
    after = dt.datetime.now(ZoneInfo("Europe/Madrid")).date()
    assert data["as_of"] in {before.isoformat(), after.isoformat()}
    assert data["months"] == 3


def test_workbook_problems_get_422_with_the_problems(api: Api) -> None:
    wb = openpyxl.load_workbook(api.path)
    ws = wb[INVOICES.title("es")]
    headers = [c.value for c in ws[1]]
    ws.cell(row=2, column=headers.index(INVOICES.column("amount").header("es")) + 1, value="mil euros")
    wb.save(api.path)
    r = api.get("/api/summary")
    assert r.status_code == 422
    problems = r.json["problems"]
    assert problems and problems[0]["sheet"] == "Invoices" and problems[0]["row"] == 2
    assert problems[0]["column"] == "amount" and "Facturas" in problems[0]["message"]
    api.path.unlink()
    r = api.post("/api/reminders/preview")
    assert r.status_code == 422 and "no such file" in r.json["error"]


# ------------------------------------------------------------------------------------------- reminders


def test_preview_sends_nothing_and_writes_nothing(api: Api, smtp: SmtpTestServer) -> None:
    before = api.path.read_bytes()
    r = api.post("/api/reminders/preview", {"as_of": AS_OF.isoformat()})
    assert r.status_code == 200
    data = r.json
    schema_check(data, "CycleResult")
    assert data["dry_run"] is True and "send" not in data
    items = data["plan"]["items"]
    assert [(i["customer_id"], i["channel"]) for i in items] == [("C1", "email"), ("C2", "email"), ("C3", "email")]
    assert all(i["subject"] and i["text"] for i in items)
    assert api.path.read_bytes() == before
    assert smtp.received == []
    assert api.post("/api/reminders/preview").status_code == 200  # no body at all: today


def test_send_delivers_exactly_once_and_logs_every_contact(api: Api, smtp: SmtpTestServer) -> None:
    r = api.post("/api/reminders/send", {"as_of": AS_OF.isoformat()})
    assert r.status_code == 200, r.json
    data = r.json
    schema_check(data, "CycleResult")
    planned = sorted(i["message_id"] for i in data["plan"]["items"])
    assert len(planned) == 3 and sorted(smtp.received) == planned
    assert data["send"]["ok"] and data["logged_contacts"] == 3
    log = contacts_of(api.path)
    assert sorted(log["customer_id"]) == ["C1", "C2", "C3"]
    assert set(log["outcome"]) == {"sent"} and set(log["user"]) == {"cobro"}
    assert sorted(log["message_id"]) == planned

    again = api.post("/api/reminders/send", {"as_of": AS_OF.isoformat()})
    assert again.status_code == 200
    assert again.json["plan"]["items"] == [] and again.json["logged_contacts"] == 0
    assert sorted(smtp.received) == planned  # nothing new
    assert len(contacts_of(api.path)) == 3


def test_a_broken_template_is_422_before_anything_is_sent(tmp_path: Path, isolated_env: Path,
                                                          smtp: SmtpTestServer) -> None:
    path = small_ledger(tmp_path / "roto.xlsx", template_body="<p>{{ customer.name </p>")
    api = make_api(path, isolated_env, smtp)
    before = path.read_bytes()
    for url in ("/api/reminders/preview", "/api/reminders/send"):
        r = api.post(url, {"as_of": AS_OF.isoformat()})
        assert r.status_code == 422, r.json
        assert r.json["problems"] and any("pre" in p["message"] for p in r.json["problems"])
        schema_check(r.json, "Error")
    assert smtp.received == [] and path.read_bytes() == before


def test_send_while_another_run_holds_the_journal_gets_409(api: Api, smtp: SmtpTestServer) -> None:
    with Journal(journal_path_for(api.path)) as other, other.lock():  # another process's run, in effect
        r = api.post("/api/reminders/send", {"as_of": AS_OF.isoformat()})
        assert r.status_code == 409
        assert r.json["error"].startswith("a run is already in progress")
        assert str(api.path.parent) not in r.json["error"]  # no server paths in the answer
    assert smtp.received == []
    assert api.post("/api/reminders/send", {"as_of": AS_OF.isoformat()}).status_code == 200
    assert len(smtp.received) == 3


def test_the_mail_server_down_is_502_with_everything_pending(api: Api, ledger: Path, isolated_env: Path) -> None:
    from sync.config import SmtpConfig
    from tests.smtp_helpers import free_port

    down = SmtpConfig(host="127.0.0.1", port=free_port(), security="none", timeout=2, max_attempts=1, backoff=0)
    app = create_app({"cobranza": ledger}, token_store=TokenStore(isolated_env), smtp_config=down)
    r = app.test_client().post("/api/reminders/send", json={"as_of": AS_OF.isoformat()}, headers=api.auth)
    assert r.status_code == 502
    assert "mail server" in r.json["error"] and r.json["send"]["ok"] is False
    assert len(contacts_of(ledger)) == 0  # nothing was delivered, so nothing is logged as sent


# ------------------------------------------------------------------------------------------- contacts


def test_a_promise_logged_through_the_api_is_respected_by_the_next_preview(api: Api) -> None:
    r = api.post("/api/contacts", data=b'{"customer_id": "C1", "outcome": "promise", "promise_date": "2026-11-27", '
                                       b'"promise_amount": 1250.10, "invoice_ids": ["F-1"], "notes": "=pagar\\nya", '
                                       b'"as_of": "2026-11-20"}', content_type="application/json")
    assert r.status_code == 201, r.json
    schema_check(r.json, "ContactLogged")
    logged = r.json["logged"]
    assert logged["promise_amount"] == "1250.10" and logged["currency"] == "EUR"
    assert logged["promise_date"] == "2026-11-27" and logged["user"] == "api" and logged["channel"] == "phone"
    assert logged["timestamp"].startswith("2026-11-20T")

    row = contacts_of(api.path).iloc[-1]
    assert row["customer_id"] == "C1" and row["outcome"] == "promise"
    assert int(row["promise_amount"]) == 125_010  # exact minor units: the JSON number never became a float
    assert row["promise_date"].date() == dt.date(2026, 11, 27) and row["invoice_ids"] == ("F-1",)
    assert row["notes"].endswith("=pagar\nya") and not row["notes"].startswith("=")  # stays text, not a formula

    plan = api.post("/api/reminders/preview", {"as_of": AS_OF.isoformat()}).json["plan"]
    assert [i["customer_id"] for i in plan["items"]] == ["C2", "C3"]
    held = [s for s in plan["skipped"] if s["customer_id"] == "C1"]
    assert held and held[0]["reason"] == "promise"


def test_a_dispute_with_an_amount_as_text_and_every_optional_field(api: Api) -> None:
    r = api.post("/api/contacts", {"customer_id": "C2", "outcome": "dispute", "invoice_ids": ["F-2", "F-2"],
                                   "channel": "email", "direction": "in", "user": "lucia", "subject": "Precio",
                                   "notes": "reclama el precio", "as_of": "2026-11-20"})
    assert r.status_code == 201
    row = contacts_of(api.path).iloc[-1]
    assert (row["outcome"], row["channel"], row["direction"], row["user"]) == ("dispute", "email", "in", "lucia")
    assert row["invoice_ids"] == ("F-2",)
    plan = api.post("/api/reminders/preview", {"as_of": AS_OF.isoformat()}).json["plan"]
    assert "C2" not in [i["customer_id"] for i in plan["items"]]


# ------------------------------------------------------------------------------------------- real HTTP: waitress


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app under waitress, the production server, on a free loopback port."""
    with running(app) as server:
        yield f"http://127.0.0.1:{server.effective_port}"


def http(method: str, url: str, body: bytes | None = None, token: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], Message]:
    """One real HTTP request (urllib); the answer's headers are looked up case-insensitively."""
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers


def test_through_waitress_over_real_http(api: Api, smtp: SmtpTestServer) -> None:
    with serving(api.app) as base:
        status, data, headers = http("GET", f"{base}/health")
        assert status == 200 and data["status"] == "ok"
        status, data, headers = http("GET", f"{base}/api/summary")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        status, data, _ = http("GET", f"{base}/api/summary?as_of={AS_OF}", token=api.token)
        assert status == 200 and data["ledger"] == "cobranza"
        status, data, _ = http("POST", f"{base}/api/contacts", b'{"customer_id": "C1", "outcome": ', api.token)
        assert status == 400 and data["field"] == "body"
        big = b'{"notes": "' + b"x" * (11 * 1024 * 1024) + b'"}'
        status, data, _ = http("POST", f"{base}/api/contacts", big, api.token)
        assert status == 413 and "error" in data
        status, data, _ = http("POST", f"{base}/api/reminders/send", json.dumps({"as_of": str(AS_OF)}).encode(),
                               api.token)
        assert status == 200 and len(smtp.received) == 3
        status, data, _ = http("GET", f"{base}/api/openapi.json", token=api.token)
        assert status == 200 and data["openapi"].startswith("3.0")


def test_two_sends_at_once_one_is_refused_with_409(ledger: Path, isolated_env: Path) -> None:
    with SmtpTestServer(delay=0.3) as slow:  # each message takes a while: the first run is still going
        api = make_api(ledger, isolated_env, slow)
        results: list[tuple[int, dict[str, Any]]] = []
        start = threading.Barrier(2)
        with serving(api.app) as base:
            def send() -> None:
                start.wait()
                status, data, _ = http("POST", f"{base}/api/reminders/send", b'{"as_of": "2026-11-20"}', api.token)
                results.append((status, data))

            threads = [threading.Thread(target=send) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        assert sorted(s for s, _ in results) == [200, 409]
        refused = next(d for s, d in results if s == 409)
        assert refused["error"].startswith("a run is already in progress")
        assert len(slow.received) == 3 and len(set(slow.received)) == 3  # each message once
    assert len(contacts_of(ledger)) == 3


# ------------------------------------------------------------------------------------------- reconcile


def test_reconcile_propose_and_apply_exactly_once(api: Api) -> None:
    pytest.importorskip("sync.reconcile")
    csv = ("Fecha;Fecha valor;Concepto;Importe;Saldo\n"
           "19/11/2026;19/11/2026;TRANSF CLIENTE 2 SL FRA F-2;2.000,00;2.000,00\n"
           "19/11/2026;19/11/2026;RECIBO LUZ;-50,00;1.950,00\n").encode("latin-1")
    body = {"statement": {"filename": "extracto.csv", "content_base64": base64.b64encode(csv).decode()},
            "auto": True, "as_of": AS_OF.isoformat()}
    r = api.post("/api/reconcile", body)
    assert r.status_code == 200, r.json
    data = r.json
    schema_check(data, "ReconcileResult")
    assert data["ledger"] == "cobranza" and data["lines"] == 2 and data["auto_accepted"] == 1
    assert data["proposals"][0]["allocations"] == [{"invoice_id": "F-2", "amount": "2000.00"}]
    assert len(XlsxStore(api.path).load().matches) == 2

    r = api.post("/api/reconcile/apply", {"as_of": AS_OF.isoformat()})
    assert r.status_code == 200 and r.json["payments_added"] == 1
    again = api.post("/api/reconcile/apply", {"as_of": AS_OF.isoformat()})
    assert again.status_code == 200 and again.json["payments_added"] == 0
    aging = api.get(f"/api/summary?as_of={AS_OF}").json["aging"]
    assert {r["customer_id"]: r["outstanding"] for r in aging["rows"]}.get("C2", "0.00") == "0.00"


@pytest.mark.parametrize("statement,status,field", [
    ({"filename": "e.csv", "content_base64": "not base64!"}, 400, "statement.content_base64"),
    ({"filename": "e.csv"}, 400, "statement.content_base64"),
    ({"content_base64": "YQ=="}, 400, "statement.filename"),
    ({"filename": "../../etc/passwd", "content_base64": "YQ=="}, 400, "statement.filename"),
    ({"filename": "e.csv", "content_base64": "YQ==", "size": 1}, 400, "statement.size"),
    ("extracto.csv", 400, "statement"),
    ({"filename": "e.ofx", "content_base64": base64.b64encode(b"\x00\x01garbage\xff").decode()}, 422, "statement"),
])
def test_reconcile_refuses_a_bad_statement(api: Api, statement: Any, status: int, field: str) -> None:
    pytest.importorskip("sync.reconcile")
    before = api.path.read_bytes()
    r = api.post("/api/reconcile", {"statement": statement})
    assert r.status_code == status, r.json
    assert r.json["field"] == field
    assert api.path.read_bytes() == before


def test_reconcile_auto_must_be_a_boolean(api: Api) -> None:
    r = api.post("/api/reconcile", {"auto": "yes"})
    assert r.status_code == 400 and r.json["field"] == "auto"


# ------------------------------------------------------------------------------------------- OpenAPI


def test_the_openapi_document_is_valid_and_matches_the_routes(api: Api) -> None:
    validate_spec(SPEC)
    methods = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}
    documented = {(path, m.upper()) for path, item in SPEC["paths"].items() for m in item if m in methods}
    served = {(re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule), m) for rule in api.app.url_map.iter_rules()
              for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    for path, item in SPEC["paths"].items():
        for m, op in item.items():
            if m not in methods:
                continue
            # only /health and the page's static files (no data in them) are open; every /api route needs a token
            assert op.get("security") == ([] if path == "/health" or not path.startswith("/api/") else None), path
            if path.startswith("/api/"):
                assert "401" in op["responses"], path


def test_the_openapi_document_is_served_as_yaml_and_json(api: Api) -> None:
    r = api.get("/api/openapi.yaml")
    assert r.status_code == 200 and r.mimetype == "application/yaml"
    assert r.data == OPENAPI_PATH.read_bytes()
    assert api.get("/api/openapi.json").json == SPEC


# ------------------------------------------------------------------------------------------- the commands


def test_cobro_serve_runs_waitress_prints_the_url_and_never_a_token(ledger: Path, isolated_env: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from cobro_cli import main; sys.exit(main())",
                             "serve", "--ledger", str(ledger), "--port", "0", "--schedule", "07:15"],
                            cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[str] = []
    token = TokenStore(isolated_env).token_for(ledger)
    try:
        while not lines or not lines[-1].startswith("Press Ctrl+C"):
            line = proc.stdout.readline()
            assert line, "cobro serve stopped early:\n" + "".join(lines) + proc.stderr.read()
            lines.append(line)
        m = re.search(r"serving 1 ledger\(s\) at (http://127\.0\.0\.1:\d+/)", lines[0])
        assert m, lines
        url = m.group(1)
        status, data, headers = http("GET", f"{url}health")
        assert status == 200 and headers["Server"] == "cobro"
        status, data, _ = http("GET", f"{url}api/summary?as_of={AS_OF}", token=token)
        assert status == 200 and data["ledger"] == "cobranza"
    finally:
        proc.send_signal(signal.SIGTERM)  # the process this test started, by its id
        proc.wait(timeout=30)
    out = "".join(lines) + proc.stdout.read()
    err = proc.stderr.read()
    assert proc.returncode == 0, err
    assert token not in out + err
    assert f"cobranza: {ledger}" in out and "cobro token" in out and "stopped" in out
    assert re.search(r"Daily cycle of cobranza at 07:15 Europe/Madrid; next \d{4}-\d\d-\d\d 07:15 CES?T", out)
    assert "outside the send window" in err  # 07:15 is before the default 08:00-18:00
    assert "GET /api/summary -> 200" in err  # the access log: method, path, status, never the header


def test_cobro_serve_explains_its_user_errors(tmp_path: Path, ledger: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from cobro_cli import run

    assert run(["serve", "--ledger", str(tmp_path / "missing.xlsx")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert run(["serve", "--ledger", str(ledger), "--schedule", "25:00"]) == 2
    assert "HH:MM" in capsys.readouterr().err
    monkeypatch.setenv("COBRO_SMTP_SECURITY", "tls")
    monkeypatch.setenv("COBRO_SMTP_HOST", "smtp.example.com")
    assert run(["serve", "--ledger", str(ledger)]) == 2
    assert "mail settings" in capsys.readouterr().err
    monkeypatch.delenv("COBRO_SMTP_SECURITY")
    monkeypatch.delenv("COBRO_SMTP_HOST")
    with socket_in_use() as port:
        assert run(["serve", "--ledger", str(ledger), "--port", str(port)]) == 2
        assert "cannot listen" in capsys.readouterr().err


@contextmanager
def socket_in_use() -> Iterator[int]:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield int(s.getsockname()[1])


def test_serve_help_documents_the_cron_alternative() -> None:
    from click.testing import CliRunner

    from cobro_cli import main

    out = CliRunner().invoke(main, ["serve", "--help"]).output
    assert "cobro remind" in out and "* * *" in out and "--schedule" in out


def test_served_ledgers_from_the_environment(ledger: Path, isolated_env: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`waitress-serve --call server:create_app` serves the workbooks named in COBRO_LEDGERS."""
    monkeypatch.setenv("COBRO_LEDGERS", str(ledger))
    app = create_app()
    token = TokenStore(isolated_env).token_for(ledger)
    r = app.test_client().get("/api/summary", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json["ledger"] == "cobranza"


def test_tokens_never_reach_the_workbook_or_its_folder(api: Api) -> None:
    import zipfile

    api.post("/api/reminders/send", {"as_of": AS_OF.isoformat()})
    api.post("/api/contacts", {"customer_id": "C1", "outcome": "note", "notes": "x"})
    token = api.token.encode()
    for f in api.path.parent.rglob("*"):
        if not f.is_file():
            continue
        if zipfile.is_zipfile(f):  # .xlsx: look inside every part, not at the compressed bytes
            with zipfile.ZipFile(f) as z:
                assert not any(token in z.read(n) for n in z.namelist()), f
        else:
            assert token not in f.read_bytes(), f


# ------------------------------------------------------------------------------------------- host names (issue 15 §3)


@pytest.mark.parametrize("host", ["evil.com", "evil.com:8750", "127.0.0.1.evil.com", "localhost.evil.com:80",
                                  "[::2]:8750", "cobro.lan.evil.com"])
def test_a_host_header_naming_another_site_is_refused(api: Api, smtp: SmtpTestServer, host: str) -> None:
    """DNS rebinding: a page from evil.com whose name now resolves to 127.0.0.1 sends ``Host: evil.com``."""
    before = api.path.read_bytes()
    for method, url in [("GET", "/health"), ("GET", "/api/summary"), ("POST", "/api/reminders/send")]:
        r = api.client.open(url, method=method, headers={**api.auth, "Host": host}, json={})
        assert r.status_code == 421, (url, r.json)
        assert r.json["field"] == "Host" and "host name" in r.json["error"]
    assert smtp.received == [] and api.path.read_bytes() == before


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8750", "localhost", "LOCALHOST:8750", "localhost.",
                                  "[::1]:8750", "[::1]"])
def test_the_loopback_names_are_served(api: Api, host: str) -> None:
    r = api.client.get(f"/api/summary?as_of={AS_OF}", headers={**api.auth, "Host": host})
    assert r.status_code == 200, r.json


def test_names_the_service_is_started_with_are_served(ledger: Path, isolated_env: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COBRO_ALLOWED_HOSTS", "cobro.example.org, 192.168.1.20")
    api = make_api(ledger, isolated_env, allowed_hosts=["Cobro.LAN"])
    for host, status in [("cobro.lan:8750", 200), ("cobro.example.org", 200), ("192.168.1.20:8750", 200),
                         ("cobro.example.org.evil.com", 421), ("192.168.1.21", 421)]:
        assert api.client.get("/health", headers={"Host": host}).status_code == status, host


def test_over_real_http_the_host_header_is_checked(api: Api) -> None:
    with serving(api.app) as base:
        assert http("GET", f"{base}/health")[0] == 200
        status, data, _ = http("GET", f"{base}/api/summary", token=api.token, headers={"Host": "evil.com"})
        assert status == 421 and data["field"] == "Host"


# ------------------------------------------------------------------------------------------- dates, clock, locks


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "0000-01-01"])
def test_dates_outside_the_years_a_spreadsheet_holds_are_400_not_500(api: Api, day: str) -> None:
    r = api.get(f"/api/summary?as_of={day}")
    assert r.status_code == 400 and r.json["field"] == "as_of", r.json
    for url in ("/api/reminders/preview", "/api/reminders/send", "/api/reconcile/apply"):
        r = api.post(url, {"as_of": day})
        assert r.status_code == 400 and r.json["field"] == "as_of", (url, r.json)
    r = api.post("/api/contacts", {"customer_id": "C1", "outcome": "promise", "promise_date": day})
    assert r.status_code == 400 and r.json["field"] == "promise_date"


def test_the_default_as_of_is_the_company_clocks_today(api: Api) -> None:
    from sync.clock import company_today

    settings = XlsxStore(api.path).load().settings
    before = company_today(settings)
    data = api.post("/api/reminders/preview").json
    assert data["as_of"] in {before.isoformat(), company_today(settings).isoformat()}


def test_previews_run_side_by_side_and_beside_a_run_in_progress(api: Api, smtp: SmtpTestServer) -> None:
    """Read-only: four previews at once all answer (3 of 4 got 409 when previews took the send lock), also while
    another process holds the ledger's run lock."""
    results: list[int] = []
    start = threading.Barrier(4)
    with serving(api.app) as base:
        def preview() -> None:
            start.wait()
            results.append(http("POST", f"{base}/api/reminders/preview", b'{"as_of": "2026-11-20"}', api.token)[0])

        with Journal(journal_path_for(api.path)) as other, other.lock():  # a send in progress, in effect
            threads = [threading.Thread(target=preview) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            status, data, _ = http("GET", f"{base}/api/summary?as_of=2026-11-20", token=api.token)
            assert status == 200
    assert results == [200, 200, 200, 200]
    assert smtp.received == []


def test_a_workbook_open_in_excel_refuses_the_send_with_409_before_anything_is_sent(
        api: Api, smtp: SmtpTestServer) -> None:
    """Excel's owner file beside the workbook (``~$cobranza.xlsx``): writing underneath Excel would be lost when the
    accountant saves, so nothing is sent. Reading still works."""
    owner = api.path.with_name(f"~${api.path.name}")
    owner.write_bytes(b"\x0bAccountant")
    before = api.path.read_bytes()
    r = api.post("/api/reminders/send", {"as_of": AS_OF.isoformat()})
    assert r.status_code == 409, r.json
    assert "open in Excel" in r.json["error"] and "nothing was sent" in r.json["error"]
    assert str(api.path.parent) not in r.json["error"]  # no server paths in the answer
    schema_check(r.json, "Error")
    assert smtp.received == [] and api.path.read_bytes() == before
    assert api.post("/api/reminders/preview", {"as_of": AS_OF.isoformat()}).status_code == 200
    r = api.post("/api/contacts", {"customer_id": "C1", "outcome": "note", "notes": "called"})
    assert r.status_code == 409 and "open in Excel" in r.json["error"]
    assert api.path.read_bytes() == before
    owner.unlink()
    assert api.post("/api/reminders/send", {"as_of": AS_OF.isoformat()}).status_code == 200
    assert len(smtp.received) == 3


# ------------------------------------------------------------------------------------------- tables a host posts


def posted(path: Path, **extra: Any) -> dict[str, Any]:
    """The body the Office add-in would post for the workbook at ``path`` (cells as Range.values gives them)."""
    from tests.test_table_store import host_tables, wire

    body = wire(host_tables(path), **extra)
    return json.loads(json.dumps(body, default=str))  # Decimal back to JSON numbers by the test client


def test_tables_summary_is_the_summary_of_the_same_workbook(api: Api) -> None:
    r = api.client.post("/api/tables/summary", headers=api.auth,
                        data=json.dumps(posted(api.path, as_of=AS_OF.isoformat(), months=2)))
    assert r.status_code == 200, r.json
    schema_check(r.json, "TablesSummary")
    same = api.get(f"/api/summary?as_of={AS_OF}&months=2").json
    for key in ("as_of", "months", "aging", "kpis", "worklist"):
        assert r.json[key] == same[key], key
    assert r.json["writes"] == {"tables": {}, "edits": []}
    assert set(r.json["fingerprints"]) >= {"Invoices", "Customers", "Settings"}


def test_tables_preview_is_the_plan_of_the_same_workbook_and_sends_nothing(api: Api, smtp: SmtpTestServer
                                                                           ) -> None:
    r = api.post("/api/tables/reminders/preview", posted(api.path, as_of=AS_OF.isoformat()))
    assert r.status_code == 200, r.json
    schema_check(r.json, "TablesPreview")
    same = api.post("/api/reminders/preview", {"as_of": AS_OF.isoformat()}).json
    assert r.json["plan"] == same["plan"] and r.json["dry_run"] is True
    assert [i["customer_id"] for i in r.json["plan"]["items"]] == ["C1", "C2", "C3"]
    assert smtp.received == [] and r.json["writes"]["edits"] == []


def test_tables_refresh_answers_writes_that_the_host_applies(api: Api) -> None:
    from sync.table_store import TableStore, apply_writes, parse_tables

    before = api.path.read_bytes()
    body = posted(api.path, as_of=AS_OF.isoformat())
    r = api.post("/api/tables/refresh", body)
    assert r.status_code == 200, r.json
    schema_check(r.json, "TablesRefresh")
    assert r.json["invoices_updated"] == 3 and len(r.json["writes"]["edits"]) == 3
    edit = r.json["writes"]["edits"][0]
    assert edit["op"] == "set" and edit["match"] == {"invoice_id": "F-1"} and edit["cells"]["balance"] == 1000
    assert api.path.read_bytes() == before  # the served file is never touched by the tables routes
    host = {t.key: t for t in parse_tables(body["tables"])}
    applied = apply_writes(host, r.json["writes"])
    again = {"tables": [{"key": t.key, "title": t.title, "header_row": t.header_row, "headers": t.headers,
                         "rows": t.rows} for t in applied.values()], "as_of": AS_OF.isoformat()}
    r2 = api.post("/api/tables/refresh", again)
    assert r2.status_code == 200 and r2.json["invoices_updated"] == 0 and r2.json["writes"]["edits"] == []
    assert TableStore({"tables": again["tables"]}).load().invoices["balance"].tolist() == [100_000, 200_000, 300_000]


def test_tables_routes_refuse_malformed_tables_by_field_and_bad_cells_by_sheet_row_column(api: Api) -> None:
    body = posted(api.path, as_of=AS_OF.isoformat())
    assert api.post("/api/tables/summary", {"as_of": "2026-11-20"}).json["field"] == "tables"
    broken = json.loads(json.dumps(body))
    broken["tables"][0]["key"] = "Hoja1"
    r = api.post("/api/tables/summary", broken)
    assert r.status_code == 400 and r.json["field"] == "tables[0].key"
    schema_check(r.json, "Error")
    r = api.post("/api/tables/summary", {**body, "locale": "fr"})
    assert r.status_code == 400 and r.json["field"] == "locale"
    bad = json.loads(json.dumps(body))
    inv = next(t for t in bad["tables"] if t["key"] == "Invoices")
    inv["header_row"] = 3
    inv["rows"][1][inv["headers"].index("Importe")] = "mil euros"
    r = api.post("/api/tables/reminders/preview", bad)
    assert r.status_code == 422, r.json
    (p,) = [p for p in r.json["problems"] if p["sheet"] == "Invoices"]
    assert (p["row"], p["column"]) == (5, "amount") and "Facturas" in p["message"]


def test_cobro_serve_answers_to_the_address_it_listens_on() -> None:
    import socket

    from server import names_for

    assert names_for("192.168.1.20") == ["192.168.1.20"]
    assert socket.gethostname() in names_for("0.0.0.0")


def test_tables_routes_take_a_whole_ledger_but_not_more(ledger: Path, isolated_env: Path) -> None:
    api = make_api(ledger, isolated_env, max_body_bytes=2048, max_tables_bytes=200_000)
    body = posted(ledger, as_of=AS_OF.isoformat())
    data = json.dumps(body).encode()
    assert 2048 < len(data) < 200_000
    r = api.client.post("/api/tables/summary", headers={**api.auth, "Content-Type": "application/json"}, data=data)
    assert r.status_code == 200, r.json
    assert api.post("/api/contacts", data=data, content_type="application/json").status_code == 413
    big = json.dumps({**body, "locale": "es", "tables": body["tables"] + [
        {"key": "Statement", "headers": ["Concepto"], "rows": [["x" * 1000]] * 250}]}).encode()
    r = api.client.post("/api/tables/summary", headers={**api.auth, "Content-Type": "application/json"}, data=big)
    assert r.status_code == 413 and "200,000 bytes" in r.json["error"]
