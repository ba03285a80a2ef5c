"""cobro's sync service: a Flask app factory whose JSON routes translate HTTP to the functions the CLI calls.

``create_app(ledgers)`` serves one or more ledger workbooks. Every route but ``GET /health`` wants
``Authorization: Bearer <token>`` (``cobro token LEDGER`` prints it; see ``sync.tokens``): the token selects the
ledger. Routes (all JSON; the contract is ``openapi.yaml``, also served at ``/api/openapi.yaml`` and
``/api/openapi.json``):

====================================  ===================================================================
``GET  /health``                      ``{"status": "ok", "version": ...}``, no token needed
``GET  /api/summary``                 aging, KPIs and worklist (``?as_of=YYYY-MM-DD&months=3``)
``POST /api/reminders/preview``       the reminder plan, nothing sent or written (``cobro remind --dry-run``)
``POST /api/reminders/send``          plan, send exactly once, log in Contacts (``cobro remind``)
``POST /api/contacts``                record what a collector learned (``cobro log``)
``POST /api/reconcile``               propose matches of a statement (``cobro reconcile``)
``POST /api/reconcile/apply``         accepted matches become payments (``cobro reconcile --apply``)
``POST /api/tables/summary``          the summary of tables a host posts (``sync.table_store``)
``POST /api/tables/forecast``         the weekly expected cash-in per currency of posted tables (``cobro.forecast``)
``POST /api/tables/reminders/preview`` the reminder plan of posted tables; nothing sent
``POST /api/tables/refresh``          the derived invoice columns of posted tables, as writes the host applies
``POST /api/tables/overview``         the page's overview of posted tables (the add-in's task pane)
``POST /api/tables/reminders/send``   send the plan of posted tables exactly once; the log rows as writes
====================================  ===================================================================

The ``/api/tables/*`` routes serve the spreadsheet hosts (Office add-in, Apps Script) that have the workbook open:
the body carries the ledger's tables, the answer the results and the *writes* for the host to apply (the protocol
is described in ``sync/table_store.py`` and ``openapi.yaml``); they never touch a served file nor take its lock.
Every route reads and writes a ledger only through ``sync.store.LedgerStore``.

The ``Host`` header must name this service (DNS rebinding): ``127.0.0.1``, ``localhost``, ``[::1]``, the names
given to ``create_app(allowed_hosts=...)`` and those in ``$COBRO_ALLOWED_HOSTS`` (comma-separated); anything else
gets 421 before any route runs.

Errors are JSON ``{"error": "...", "field": "..."}`` (a wrong request field, 400) or ``{"error": "...",
"problems": [...]}`` (the workbook, 422): 401 without a valid token (with ``WWW-Authenticate: Bearer``), 409 when a
run is already in progress or the workbook changed meanwhile, 413 for a body over ``max_body_bytes``, 502 when the
SMTP server failed during a send (the body still reports what happened). Never a traceback.

An omitted ``as_of`` is today in the ledger's company time zone (``sync.clock.company_today``); dates outside the
years 1900-9999 are refused (400). Read-only routes (summary, previews) never take a ledger's lock, so they run
side by side with each other and with a send. Production serving is
waitress (``cobro serve``; or ``waitress-serve --call server:create_app`` with ``COBRO_LEDGERS`` set to the
workbook paths, separated by ``os.pathsep``).
"""

from __future__ import annotations

import binascii
import datetime as dt
import json
import logging
import os
import re
import threading
import time
from base64 import b64decode
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from cobro.errors import CobroError
from sync.clock import company_today
from sync.gsheets import is_google_sheet, spreadsheet_key
from sync.store import RUN_IN_PROGRESS, LedgerStore

log = logging.getLogger("cobro.server")

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024  # a month of CAMT.053 from a busy account fits many times over
DEFAULT_MAX_TABLES_BYTES = 64 * 1024 * 1024  # /api/tables/*: a whole ledger (100,000 invoices are ~60 MB of JSON)
DEFAULT_LOCK_TIMEOUT = 30.0  # seconds a write waits for the ledger while another write or run holds it
OPENAPI_PATH = Path(__file__).resolve().with_name("openapi.yaml")
MAX_TEXT = 32_767  # characters in one Excel cell
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

OUTCOMES = ("promise", "dispute", "reached", "no_answer", "note", "paid")  # as `cobro log --outcome`
CHANNELS = ("phone", "email", "whatsapp", "sms", "letter", "visit", "other")  # as `cobro log --channel`
DIRECTIONS = ("out", "in")


# --------------------------------------------------------------------------------------------- errors


class ApiError(CobroError):
    """A request the client can fix (or a state it must wait out): becomes ``{"error", "field"/"problems"}``."""

    def __init__(self, status: int, message: str, *, field: str | None = None,
                 problems: list[dict[str, Any]] | None = None, headers: Mapping[str, str] | None = None,
                 extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, column=field)
        self.http_status = status
        self.status = status
        self.message = message
        self.field = field
        self.problem_list = problems
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.problem_list is not None:
            out["problems"] = self.problem_list
        out.update(self.extra)
        return out


def bad_field(name: str, message: str) -> ApiError:
    return ApiError(400, f"{name}: {message}", field=name)


# --------------------------------------------------------------------------------------------- state


@dataclass
class ServedLedger:
    name: str
    path: Path | str  # a workbook's path, or "gsheet:KEY" for a Google Sheet
    canonical: str
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class CobroService:
    """What the app serves (``app.extensions["cobro"]``): the ledgers, their locks, the token store, SMTP."""

    def __init__(self, ledgers: Mapping[str, ServedLedger], token_store: Any, smtp_config: Any,
                 lock_timeout: float, allowed_hosts: Iterable[str] = ()) -> None:
        self.ledgers = dict(ledgers)  # canonical path -> ledger
        self.token_store = token_store
        self.smtp_config = smtp_config
        self.lock_timeout = lock_timeout
        self.allowed_hosts = frozenset(_host_name(h) for h in (*LOOPBACK_HOSTS, *allowed_hosts) if _host_name(h))
        self._table_caches: dict[str, Any] = {}
        self._caches_lock = threading.Lock()

    def table_cache(self, ledger: ServedLedger) -> Any:
        """The ``sync.table_cache.TablesCache`` of the hosts of ``ledger`` (one per served ledger)."""
        from sync.table_cache import TablesCache

        with self._caches_lock:
            cache = self._table_caches.get(ledger.canonical)
            if cache is None:
                cache = self._table_caches[ledger.canonical] = TablesCache()
            return cache

    def by_token(self, token: str) -> ServedLedger | None:
        canonical = self.token_store.resolve(token)
        return self.ledgers.get(canonical) if canonical else None

    def lock_for(self, path: str | os.PathLike[str]) -> threading.Lock:
        """The in-process lock of a served ledger (the scheduler shares it with the routes)."""
        from sync.tokens import canonical_path

        return self.ledgers[canonical_path(path)].lock

    def collect_kwargs(self) -> dict[str, Any]:
        """SMTP for ``collect``: the configured server, else the environment/config file, else the local sink."""
        if self.smtp_config is not None:
            return {"config": self.smtp_config, "use_env": False}
        return {"config": None, "use_env": True}


def _served(ledgers: Mapping[str, str | os.PathLike[str]] | Iterable[str | os.PathLike[str]] | None
            ) -> dict[str, ServedLedger]:
    from sync.tokens import canonical_path
    from sync.xlsx_store import WorkbookError, store_for

    if ledgers is None:
        env = os.environ.get("COBRO_LEDGERS", "")
        ledgers = [p for p in env.split(os.pathsep) if p.strip()]
    def as_path(v: str | os.PathLike[str]) -> Path | str:
        return str(v) if is_google_sheet(str(v)) else Path(v)

    if isinstance(ledgers, Mapping):
        named = [(str(k), as_path(v)) for k, v in ledgers.items()]
    else:
        named = [(Path(p).stem if not is_google_sheet(str(p)) else spreadsheet_key(str(p)) or str(p), as_path(p))
                 for p in ledgers]
    out: dict[str, ServedLedger] = {}
    names: set[str] = set()
    for name, path in named:
        if is_google_sheet(str(path)):
            sheet = canonical_path(str(path))  # "gsheet:KEY"
            if sheet in out:
                raise ValueError(f"{path} is served twice (as {out[sheet].name!r} and {name!r})")
            names.add(name)
            out[sheet] = ServedLedger(name=name, path=sheet, canonical=sheet)
            continue
        store_for(path)  # .xlsx / .xlsm only: WorkbookError otherwise
        if not path.is_file():
            raise WorkbookError(f"{path}: no such file (create one with `cobro new {path}`)")
        canonical = canonical_path(path)
        if canonical in out:
            raise ValueError(f"{path} is served twice (as {out[canonical].name!r} and {name!r})")
        base, n = name, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.add(name)
        out[canonical] = ServedLedger(name=name, path=Path(canonical), canonical=canonical)
    return out


def _service() -> CobroService:
    return current_app.extensions["cobro"]


# --------------------------------------------------------------------------------------------- JSON


class CobroJSONProvider(DefaultJSONProvider):
    """Dates as ISO 8601 (Flask's default would write HTTP dates), Decimals as strings, keys in their order."""

    sort_keys = False
    ensure_ascii = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, dt.datetime):
            return o.isoformat()
        if isinstance(o, dt.date):
            return o.isoformat()
        if isinstance(o, Decimal):
            return str(o)
        if isinstance(o, Path):
            return str(o)
        if isinstance(o, (set, frozenset, tuple)):
            return list(o)
        if hasattr(o, "isoformat"):  # pandas Timestamp, numpy datetime64 wrappers
            return o.isoformat()
        if hasattr(o, "item"):  # numpy scalars
            return o.item()
        return DefaultJSONProvider.default(o)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_body(allowed: Iterable[str]) -> dict[str, Any]:
    """The request's JSON object (empty body = ``{}``). Numbers with a fraction arrive as ``Decimal`` (exact
    money); an unknown key is refused, naming it, so a typo never goes unnoticed."""
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: werkzeug raises 413
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ApiError(400, "the request body is not UTF-8 text; send JSON", field="body") from None
    except json.JSONDecodeError as e:
        raise ApiError(400, f"the request body is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})",
                       field="body") from None
    except (ValueError, RecursionError) as e:
        raise ApiError(400, f"the request body is not valid JSON: {e}", field="body") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the request body must be a JSON object ({{...}}), not {_kind(data)}", field="body")
    allowed = set(allowed)
    unknown = sorted(k for k in data if k not in allowed)
    if unknown:
        raise bad_field(unknown[0], f"unknown field; expected one of {', '.join(sorted(allowed))}")
    return data


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, Decimal, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def text_field(data: Mapping[str, Any], name: str, *, required: bool = False, default: str = "",
               max_len: int = MAX_TEXT, prefix: str = "") -> str:
    value = data.get(name)
    name = prefix + name
    if value is None:
        if required:
            raise bad_field(name, "is required")
        return default
    if not isinstance(value, str):
        raise bad_field(name, f"expected text, got {_kind(value)}")
    if required and not value.strip():
        raise bad_field(name, "must not be blank")
    if len(value) > max_len:
        raise bad_field(name, f"is {len(value)} characters long; at most {max_len} fit in a cell")
    return value


def choice_field(data: Mapping[str, Any], name: str, choices: tuple[str, ...], *, required: bool = False,
                 default: str | None = None) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise bad_field(name, f"is required; one of {', '.join(choices)}")
        return default
    if not isinstance(value, str) or value not in choices:
        raise bad_field(name, f"{value!r} is not one of {', '.join(choices)}")
    return value


def bool_field(data: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_field(name, f"expected true or false, got {_kind(value)}")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_iso_date(value: Any, name: str) -> dt.date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        raise bad_field(name, f"{value!r} is not a date; expected YYYY-MM-DD, e.g. 2026-11-20")
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise bad_field(name, f"{value!r} is not a date of the calendar; expected YYYY-MM-DD") from None
    if not 1900 <= day.year <= 9999:  # the years cobro.ledger.parse_date_text accepts
        raise bad_field(name, f"{value!r} is not a date from the years 1900 to 9999; expected YYYY-MM-DD")
    return day


def date_field(data: Mapping[str, Any], name: str) -> dt.date | None:
    value = data.get(name)
    return None if value is None or value == "" else parse_iso_date(value, name)


def months_value(value: Any, name: str = "months") -> int:
    """A KPI period in whole months, 1 to 36 (text from a query string or a JSON number)."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"\d{1,2}", text) or not 1 <= int(text) <= 36:
        raise bad_field(name, f"{value!r} is not a whole number of months from 1 to 36")
    return int(text)


# --------------------------------------------------------------------------------------------- request context


def _store() -> LedgerStore:
    """The served ledger's store; routes use it only through the ``LedgerStore`` protocol."""
    from sync.stores import open_store

    return open_store(g.ledger.path)


def _cycle_paths() -> dict[str, Any]:
    """Where a served Google Sheet keeps its journal, outbox and letters (a workbook keeps them beside it)."""
    from sync.stores import cycle_paths

    return cycle_paths(str(g.ledger.path))


def _as_of_or_today(as_of: dt.date | None, store: LedgerStore) -> dt.date:
    """``as_of``, else today in the ledger's company time zone (the company clock)."""
    return as_of if as_of is not None else company_today(store.load().settings)


def names_for(bind: str) -> list[str]:
    """The host names a service listening on ``bind`` is reached by, besides loopback: the address itself, and the
    machine's names when it listens on every interface (``0.0.0.0``, ``::``)."""
    import socket

    names = [bind]
    if bind in ("0.0.0.0", "::", ""):
        names += [socket.gethostname(), socket.getfqdn()]
    return names


def _host_name(host: str) -> str:
    """The name part of a ``Host`` header or a configured name: lower case, no port, no brackets, no final dot."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8750
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:  # name:port (a bare IPv6 address has several colons)
        host = host.partition(":")[0]
    return host.rstrip(".")


@contextmanager
def _ledger_lock(wait: bool) -> Iterator[None]:
    """Hold the served ledger's in-process lock: writes wait a while for it; a send refuses at once."""
    lock = g.ledger.lock
    got = lock.acquire(timeout=_service().lock_timeout) if wait else lock.acquire(blocking=False)
    if not got:
        raise ApiError(409, f"{RUN_IN_PROGRESS} on this ledger; wait for it to finish and try again")
    try:
        yield
    finally:
        lock.release()


def _with_ledger(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {"ledger": g.ledger.name, **payload}


# --------------------------------------------------------------------------------------------- routes

api = Blueprint("api", __name__, url_prefix="/api")


@api.before_request
def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "missing API token: send the header 'Authorization: Bearer <token>' (print the token "
                            "with `cobro token LEDGER`)", headers={"WWW-Authenticate": 'Bearer realm="cobro"'})
    ledger = _service().by_token(token)
    if ledger is None:
        raise ApiError(401, "unknown API token: it opens no ledger served here (print the right one with "
                            "`cobro token LEDGER`)",
                       headers={"WWW-Authenticate": 'Bearer realm="cobro", error="invalid_token"'})
    g.ledger = ledger


@api.get("/summary")
def summary() -> Any:
    """Aging, KPIs and the worklist (``cobro aging``, ``cobro kpis``, ``cobro worklist``)."""
    unknown = sorted(k for k in request.args if k not in ("as_of", "months"))
    if unknown:
        raise bad_field(unknown[0], "unknown query parameter; expected as_of, months")
    as_of = date_field(request.args, "as_of")
    months = months_value(request.args.get("months", "3"))
    led = _store().load()
    return _with_ledger(_summary(led, as_of or company_today(led.settings), months))


SUMMARY_PARTS = ("aging", "kpis", "worklist")


def _summary(led: Any, day: dt.date, months: int) -> dict[str, Any]:
    return {"as_of": day, "months": months, **{p: _summary_part(led, p, day, months) for p in SUMMARY_PARTS}}


def _summary_part(led: Any, part: str, day: dt.date, months: int) -> Any:
    """One report of the summary as JSON: ``aging``, ``kpis`` (of ``months``) or ``worklist``."""
    if part == "aging":
        from cobro.aging import aging

        return aging(led, day).to_json()
    if part == "kpis":
        from cobro.kpis import kpis

        return kpis(led, day, months=months).to_json()
    from cobro.worklist import worklist

    return worklist(led, day).to_json()


def _summary_key(part: str, day: dt.date, months: int) -> tuple[Any, ...]:
    """What one report depends on besides the ledger (only the KPIs depend on the months)."""
    return (part, day, months) if part == "kpis" else (part, day)


@api.post("/reminders/preview")
def reminders_preview() -> Any:
    """The plan for the day, as ``cobro remind --dry-run``: nothing is sent, nothing is written, and no lock is
    taken (previews run side by side, and beside a send)."""
    from sync.cycle import collect

    data = read_body(["as_of"])
    as_of = date_field(data, "as_of")
    store = _store()
    svc = _service()  # as_of None: the company's today, resolved by the cycle from the ledger it reads (one read)
    result = collect(store, as_of, dry_run=True, config=svc.smtp_config, use_env=False, **_cycle_paths())
    return _with_ledger(result.to_json(store.locale))


@api.post("/reminders/send")
def reminders_send() -> Any:
    """Plan, send exactly once and log every contact, as ``cobro remind``."""
    from sync.cycle import collect

    data = read_body(["as_of"])
    as_of = date_field(data, "as_of")
    with _ledger_lock(wait=False):
        store = _store()
        store.check_writable()  # open in Excel/LibreOffice: 409 before anything is sent
        result = collect(store, as_of, **_service().collect_kwargs(), **_cycle_paths())
    body = _with_ledger(result.to_json(store.locale))
    if result.batch is not None and result.batch.error:
        body = {"error": f"the mail server failed during the run: {result.batch.error}", **body}
        return current_app.json.response(body), 502
    return body


@api.post("/contacts")
def contacts() -> Any:
    """Record what a collector learned (``cobro log``); the next plan respects it."""
    from cobro import money
    from sync.cycle import contact_time, log_contact

    data = read_body(["customer_id", "outcome", "promise_date", "promise_amount", "invoice_ids", "channel",
                      "direction", "notes", "user", "subject", "as_of"])
    customer = text_field(data, "customer_id", required=True, max_len=200).strip()
    outcome = choice_field(data, "outcome", OUTCOMES, required=True)
    promise_date = date_field(data, "promise_date")
    if outcome == "promise" and promise_date is None:
        raise bad_field("promise_date", "is required with outcome promise (the day the customer promised to pay)")
    channel = choice_field(data, "channel", CHANNELS, default="phone")
    direction = choice_field(data, "direction", DIRECTIONS, default="out" if channel != "other" else "in")
    notes = text_field(data, "notes")
    user = text_field(data, "user", default="api", max_len=200) or "api"
    subject = text_field(data, "subject", max_len=998)
    invoice_ids = _invoice_ids(data.get("invoice_ids"))
    as_of = date_field(data, "as_of")
    amount = data.get("promise_amount")

    with _ledger_lock(wait=True):
        store = _store()
        led = store.load()
        cust = led.customers[led.customers["customer_id"] == customer]
        if cust.empty:
            raise bad_field("customer_id", f"customer {customer!r} is not in the Customers sheet")
        currency = str(cust["currency"].iloc[0]) or led.settings.base_currency
        minor = _amount(amount, currency)
        owners = _invoice_owners(led.invoices, invoice_ids)
        for i in invoice_ids:
            if i not in owners:
                raise bad_field("invoice_ids", f"invoice {i!r} is not in the Invoices sheet")
            if customer not in owners[i]:
                raise bad_field("invoice_ids", f"invoice {i!r} belongs to customer {min(owners[i])!r}, "
                                               f"not {customer!r}")
        day = as_of or company_today(led.settings)
        row = {"timestamp": _timestamp(contact_time(led, day)), "customer_id": customer,
               "invoice_ids": invoice_ids, "channel": channel, "direction": direction, "level": "",
               "outcome": outcome, "promise_date": _timestamp(promise_date) if promise_date else None,
               "promise_amount": minor, "user": user, "subject": subject, "notes": notes, "message_id": ""}
        log_contact(store, row, day, led)
    logged = {k: v for k, v in row.items()}
    logged["invoice_ids"] = list(invoice_ids)
    logged["promise_date"] = promise_date
    logged["promise_amount"] = money.format_decimal(minor, currency) if minor is not None else None
    logged["currency"] = currency
    return _with_ledger({"as_of": day, "logged": logged}), 201


def _invoice_owners(invoices: Any, ids: tuple[str, ...]) -> dict[str, set[str]]:
    """invoice_id -> the customers it is recorded for (one, in a consistent ledger), for ``ids`` only."""
    if not ids or not len(invoices):
        return {}
    sub = invoices[invoices["invoice_id"].isin(list(ids))]
    out: dict[str, set[str]] = {}
    for inv, cust in zip(sub["invoice_id"].tolist(), sub["customer_id"].tolist(), strict=True):
        out.setdefault(str(inv), set()).add(str(cust))
    return out


def _invoice_ids(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise bad_field("invoice_ids", f"expected a list of invoice numbers such as [\"F-2026-000123\"], "
                                       f"got {_kind(value)}")
    out = tuple(dict.fromkeys(x.strip() for x in value if x.strip()))
    return out


def _amount(value: Any, currency: str) -> int | None:
    from cobro import money

    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise bad_field("promise_amount", f"expected an amount such as \"1250.00\", got {_kind(value)}")
    try:
        minor = money.parse_money(value, currency)
    except money.MoneyError as e:
        raise bad_field("promise_amount", f"{e} (in {currency}, e.g. \"1250.00\")") from None
    if minor <= 0:
        raise bad_field("promise_amount", f"{value!r} must be more than zero")
    return minor


def _timestamp(value: Any) -> Any:
    import pandas as pd

    return pd.Timestamp(value)


@api.post("/reconcile")
def reconcile() -> Any:
    """Propose matches between a statement (the body's, else the Statement sheet) and open invoices; written to
    the Matches sheet (``cobro reconcile``)."""
    data = read_body(["statement", "auto", "as_of"])
    statement = _statement(data.get("statement"))
    auto = bool_field(data, "auto")
    as_of = date_field(data, "as_of")
    rec = _reconcile_module()
    with _ledger_lock(wait=True):
        store = _store()
        day = _as_of_or_today(as_of, store)
        result = rec.propose(store, statement, day, auto)
    return _with_ledger(_result_json(result))


@api.post("/reconcile/apply")
def reconcile_apply() -> Any:
    """Every Matches row with action=accept becomes Payments rows, exactly once (``cobro reconcile --apply``)."""
    data = read_body(["as_of"])
    as_of = date_field(data, "as_of")
    rec = _reconcile_module()
    with _ledger_lock(wait=True):
        store = _store()
        day = _as_of_or_today(as_of, store)
        result = rec.apply(store, day)
    return _with_ledger(_result_json(result))


def _reconcile_module() -> Any:
    try:
        import sync.reconcile as rec
    except ImportError:
        raise ApiError(501, "bank reconciliation is not available in this version of cobro") from None
    return rec


def _result_json(result: Any) -> dict[str, Any]:
    data = result.to_json()
    return data if isinstance(data, dict) else {"result": data}


def _statement(value: Any) -> tuple[str, bytes] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_field("statement", f"expected an object {{\"filename\": ..., \"content_base64\": ...}}, "
                                     f"got {_kind(value)}")
    unknown = sorted(k for k in value if k not in ("filename", "content_base64"))
    if unknown:
        raise bad_field(f"statement.{unknown[0]}", "unknown field; expected filename, content_base64")
    name = text_field(value, "filename", required=True, max_len=255, prefix="statement.")
    if any(c in name for c in "/\\\0") or name.strip() in (".", ".."):
        raise bad_field("statement.filename", "a file name only (no folders), e.g. extracto.n43")
    content = value.get("content_base64")
    if not isinstance(content, str):
        raise bad_field("statement.content_base64", f"expected the file's bytes in base64, got {_kind(content)}")
    try:
        raw = b64decode(re.sub(r"\s+", "", content), validate=True)
    except (binascii.Error, ValueError):
        raise bad_field("statement.content_base64", "is not valid base64") from None
    if not raw:
        raise bad_field("statement.content_base64", "the file is empty")
    return name.strip(), raw


# --------------------------------------------------------------------------------------------- tables a host posts

TABLE_FIELDS = ("tables", "locale", "as_of")


def _table_store(data: Mapping[str, Any], *, cached: bool = False) -> Any:
    """The ``TableStore`` of a request body (``{"tables": [...], "locale": ...}``); a malformed table is a 400
    naming its field. ``cached`` (read-only routes): the tables, their parse and what is computed from them are
    kept by fingerprint for the next request, which may then name an unchanged table by its fingerprint only."""
    from sync.table_store import TableStore

    if "tables" not in data:
        raise bad_field("tables", "is required: the ledger's tables as the workbook holds them")
    locale = choice_field(data, "locale", ("es", "en"))
    cache = _service().table_cache(g.ledger) if cached else None
    store = TableStore({"tables": data["tables"]}, name="the posted tables", locale=locale, cache=cache)
    if cache is not None:
        cache.remember(store.tables())
    return store


def _cached(store: Any, key: tuple[Any, ...], build: Any) -> Any:
    """``build()`` computed once per ledger state and ``key`` (single flight); without a cache, each time."""
    cache = getattr(store, "_cache", None)
    return cache.result((store.version(), *key), build) if cache is not None else build()


def _with_writes(store: Any, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {**payload, "fingerprints": store.fingerprints(), "writes": store.writes()}


@api.post("/tables/summary")
def tables_summary() -> Any:
    """Aging, KPIs and the worklist of the tables in the body (a host with the workbook open); ``parts``: only
    those reports (a cell function asks for its own: =COBRO.AGING does not wait for the worklist). Each report is
    computed once per ledger state and day (single flight), whichever request asks for it."""
    data = read_body([*TABLE_FIELDS, "months", "parts"])
    as_of = date_field(data, "as_of")
    months = months_value(data.get("months", 3))
    parts = _parts(data)
    store = _table_store(data, cached=True)
    led = store.load()
    day = as_of or company_today(led.settings)
    reports = {p: _cached(store, _summary_key(p, day, months), lambda p=p: _summary_part(led, p, day, months))
               for p in parts}
    return _with_writes(store, {"as_of": day, "months": months, **reports})


def _parts(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``parts`` of a summary request (default: all), in their canonical order."""
    value = data.get("parts", list(SUMMARY_PARTS))
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise bad_field("parts", f"expected a non-empty list of {', '.join(SUMMARY_PARTS)}")
    unknown = sorted(set(value) - set(SUMMARY_PARTS))
    if unknown:
        raise bad_field("parts", f"{unknown[0]!r} is not a report; expected {', '.join(SUMMARY_PARTS)}")
    return tuple(p for p in SUMMARY_PARTS if p in value)


FORECAST_WEEKS_MAX = 104


@api.post("/tables/forecast")
def tables_forecast() -> Any:
    """The expected cash-in per week and currency of the tables in the body (``cobro.forecast``): the Office
    add-in's =COBRO.FORECAST. Amounts as exact decimal text; currencies never added together."""
    from addin.sheet_api import forecast_weeks

    data = read_body([*TABLE_FIELDS, "weeks"])
    as_of = date_field(data, "as_of")
    weeks = data.get("weeks", 13)
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= FORECAST_WEEKS_MAX:
        raise bad_field("weeks", f"{weeks!r} is not a whole number of weeks from 1 to {FORECAST_WEEKS_MAX}")
    store = _table_store(data, cached=True)
    led = store.load()
    day = as_of or company_today(led.settings)
    return _with_writes(store, _cached(store, ("forecast", day, weeks), lambda: forecast_weeks(led, day, weeks)))


@api.post("/tables/reminders/preview")
def tables_reminders_preview() -> Any:
    """The reminder plan of the tables in the body, as ``cobro remind --dry-run``: nothing is sent or written."""
    from cobro.reminders import plan_reminders
    from sync.cycle import CycleResult, PlanError

    data = read_body(list(TABLE_FIELDS))
    as_of = date_field(data, "as_of")
    store = _table_store(data)
    led = store.load()
    plan = plan_reminders(led, as_of or company_today(led.settings))
    if not plan.ok:
        raise PlanError(plan, led.settings.locale)
    return _with_writes(store, CycleResult(plan=plan, dry_run=True).to_json(store.locale))


@api.post("/tables/refresh")
def tables_refresh() -> Any:
    """The derived invoice columns (paid, balance, days overdue, level, last contact) and missing payment ids of
    the tables in the body, as writes for the host to apply (``cobro refresh``)."""
    from sync.cycle import refresh

    data = read_body(list(TABLE_FIELDS))
    as_of = date_field(data, "as_of")
    store = _table_store(data)
    led = store.load()
    day = as_of or company_today(led.settings)
    updated = refresh(store, day, led)
    return _with_writes(store, {"as_of": day, "invoices_updated": updated})


@api.post("/tables/overview")
def tables_overview() -> Any:
    """The page's overview (worklist with next-action dates, aging per customer, KPIs) of the tables in the body:
    the cobro page as the Office add-in's task pane, reading the workbook open in Excel."""
    from addin.page.routes import _overview

    data = read_body([*TABLE_FIELDS, "months"])
    as_of = date_field(data, "as_of")
    months = months_value(data.get("months", 3))
    store = _table_store(data)
    led = store.load()
    return _with_ledger({**_overview(led, as_of or company_today(led.settings), months),
                         "fingerprints": store.fingerprints()})


class _LoadOnce:
    """A posted-tables store whose ``load()`` parses once until a ``commit()`` changes the view: the tables cannot
    change on the host's side during the request, so the cycle's re-reads (before planning, before logging) reuse
    the parsed ledger (a 10,000-invoice ledger parses in about a second)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._ledger: Any = None

    def load(self) -> Any:
        if self._ledger is None:
            self._ledger = self._store.load()
        return self._ledger

    def commit(self, changes: Any) -> None:
        self._ledger = None
        self._store.commit(changes)

    def __getattr__(self, name: str) -> Any:  # describe, check_writable, locale, writes, fingerprints
        return getattr(self._store, name)


def _host_cycle_paths(day: dt.date) -> dict[str, Any]:
    """Where a send from posted tables keeps its journal, outbox and letters: those of the ledger the token opens
    (the served workbook or sheet the host has open), so a send from Excel and one from the service or the
    scheduler share one journal and a reminder still goes out once."""
    from sync.cycle import letters_dir_for, outbox_for
    from sync.journal import journal_path_for

    paths = _cycle_paths()
    if paths:
        return paths
    home = Path(g.ledger.path)
    return {"journal_path": journal_path_for(home), "outbox": outbox_for(home),
            "letters_dir": letters_dir_for(home, day)}


@api.post("/tables/reminders/send")
def tables_reminders_send() -> Any:
    """Plan, send exactly once (through the journal of the token's ledger) and answer the writes - the Contacts
    rows and the derived invoice columns - for the host to apply (the Office add-in's Send reminders).
    ``expect_count``: the count the person confirmed; a different plan now is refused (409), nothing sent."""
    from sync.cycle import collect

    data = read_body([*TABLE_FIELDS, "expect_count"])
    as_of = date_field(data, "as_of")
    expect = data.get("expect_count")
    if expect is not None and (isinstance(expect, bool) or not isinstance(expect, int)):
        raise bad_field("expect_count", "expected a whole number (the count the person confirmed)")
    store = _LoadOnce(_table_store(data))
    with _ledger_lock(wait=False):
        led = store.load()
        day = as_of or company_today(led.settings)
        paths = _host_cycle_paths(day)
        kwargs = _service().collect_kwargs()
        if expect is not None:  # the count the host's preview (/api/tables/reminders/preview) showed
            from cobro.reminders import plan_reminders

            plan = plan_reminders(led, day)
            if len(plan.items) != expect:
                raise ApiError(409, f"the plan changed since it was confirmed ({len(plan.items)} reminders now, "
                                    f"{expect} confirmed); nothing was sent: look at the preview again",
                               field="expect_count")
        result = collect(store, day, **kwargs, **paths)
    body = _with_writes(store, _with_ledger(result.to_json(store.locale)))
    if result.batch is not None and result.batch.error:
        body = {"error": f"the mail server failed during the run: {result.batch.error}", **body}
        return current_app.json.response(body), 502
    return body


@api.get("/openapi.yaml")
def openapi_yaml() -> Response:
    """This service's OpenAPI 3.0 description."""
    return Response(OPENAPI_PATH.read_bytes(), mimetype="application/yaml")


@api.get("/openapi.json")
def openapi_json() -> Any:
    """The same description as JSON."""
    return load_openapi()


def load_openapi() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(OPENAPI_PATH.read_text("utf-8"))


# --------------------------------------------------------------------------------------------- error handlers


def _json_error(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    resp = current_app.json.response(dict(body))
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _register_errors(app: Flask) -> None:
    """One handler for cobro's error family (status and body come from the error), one for HTTP errors, and
    one for bugs."""
    from cobro.errors import CobroError

    @app.errorhandler(CobroError)
    def _cobro_error(e: CobroError) -> Response:
        if e.http_status >= 500:
            log.error("%s", e)
        return _json_error(e.http_status, e.to_json(getattr(e, "locale", "en")), getattr(e, "headers", None))

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Response:
        code = e.code or 500
        limit = request.max_content_length or app.config["MAX_CONTENT_LENGTH"]
        message = {413: f"the request body is larger than the {limit:,} bytes this service accepts",
                   404: "no such route; see /api/openapi.yaml",
                   405: f"{request.method} is not allowed here; see /api/openapi.yaml"}.get(code, e.description)
        headers = {k: v for k, v in e.get_headers() if k.lower() not in ("content-type", "content-length")}
        return _json_error(code, {"error": message}, headers)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _json_error(500, {"error": "internal error (a bug in cobro); the details are in the server log"})


# --------------------------------------------------------------------------------------------- factory


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cobro")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


def create_app(ledgers: Mapping[str, str | os.PathLike[str]] | Iterable[str | os.PathLike[str]] | None = None, *,
               token_store: Any = None, smtp_config: Any = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               lock_timeout: float = DEFAULT_LOCK_TIMEOUT, allowed_hosts: Iterable[str] | None = None,
               max_tables_bytes: int = DEFAULT_MAX_TABLES_BYTES) -> Flask:
    """The service for ``ledgers`` (name -> workbook path, or paths: named by their file stem; default: the paths
    in ``$COBRO_LEDGERS``).

    ``token_store``: a ``sync.tokens.TokenStore`` (default: the one in cobro's data folder); every served ledger
    gets a token in it if it has none. ``smtp_config``: a ``sync.config.SmtpConfig`` for sends (default: the
    environment / config file, else the embedded local sink). ``max_body_bytes``: larger bodies get 413
    (``max_tables_bytes`` for the ``/api/tables/*`` routes, whose bodies carry a whole ledger).
    ``allowed_hosts``: names (or addresses) this service is reached by besides loopback, e.g. the ``--host`` it
    listens on or a reverse proxy's name; ``$COBRO_ALLOWED_HOSTS`` adds more (comma-separated). A request whose
    ``Host`` header names anything else gets 421 (a DNS-rebinding page in a browser cannot reach the ledgers).
    Raises ``WorkbookError`` for a path that is not an existing .xlsx workbook.
    """
    from sync.tokens import TokenStore

    served = _served(ledgers)
    tokens = token_store if token_store is not None else TokenStore()
    for entry in served.values():
        if not tokens.has_token(entry.path):
            tokens.token_for(entry.path)  # registered now; `cobro token` prints it
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = int(max_body_bytes)
    app.json = CobroJSONProvider(app)
    extra_hosts = [*(allowed_hosts or ()), *re.split(r"[,\s]+", os.environ.get("COBRO_ALLOWED_HOSTS", ""))]
    app.extensions["cobro"] = CobroService(served, tokens, smtp_config, lock_timeout, allowed_hosts=extra_hosts)

    @app.before_request
    def _check_host() -> None:
        """DNS rebinding: a page from evil.example whose name now resolves to 127.0.0.1 sends ``Host:
        evil.example``; only the names this service is reached by get through."""
        host = request.headers.get("Host") or request.host
        if _host_name(host) not in _service().allowed_hosts:
            raise ApiError(421, f"this service does not answer to the host name {host[:100]!r}; use "
                                "http://127.0.0.1 or a name it was started with (COBRO_ALLOWED_HOSTS)",
                           field="Host")

    @app.get("/health")
    def health() -> Any:
        """Liveness, without a token: nothing about the ledgers."""
        return {"status": "ok", "version": _version()}

    @app.before_request
    def _limit_and_clock() -> None:
        g.started = time.perf_counter()
        limit = app.config["MAX_CONTENT_LENGTH"]
        if request.path.startswith("/api/tables/"):
            limit = request.max_content_length = max(limit, int(max_tables_bytes))
        length = request.content_length
        if length is not None and length > limit:
            raise ApiError(413, f"the request body is larger than the {limit:,} bytes this service accepts")

    @app.after_request
    def _headers_and_log(resp: Response) -> Response:
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        ledger = getattr(g, "ledger", None)
        ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        # Never the Authorization header or the body: they may hold the token or personal data.
        log.info("%s %s -> %s (%s, %.0f ms)", request.method, request.path, resp.status_code,
                 ledger.name if ledger else "-", ms)
        return resp

    app.register_blueprint(api)
    from addin.page.routes import register_page  # the cobro page at / (issue 9)

    register_page(app, authenticate=_authenticate)
    from addin.page.forecast_api import register_forecast  # the page's Forecast section (issue 14)

    register_forecast(app)
    from addin.officejs.routes import register_officejs  # the Office add-in's files at /addin/ (issue 10)

    register_officejs(app)
    _register_errors(app)
    return app
