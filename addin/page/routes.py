"""The cobro page's routes: the page at ``/``, its files at ``/page/static/…``, its JSON under ``/api/page/…``.

``register_page(app, authenticate=…)`` is called once by ``server.create_app``. It reuses what the service
already has: its bearer-token check (``authenticate``, run before every ``/api/page`` route), its ledgers and
their locks (``app.extensions["cobro"]``), its JSON error handling (every error here is of the family in
``cobro/errors.py``). The page also uses the service's own routes (``POST /api/contacts``, ``POST /api/reconcile``,
``POST /api/reconcile/apply``); the routes here add what a page needs and a terminal did not:

==========================================  ===========================================================
``GET  /api/page/overview``                 worklist (with next-action dates), aging, KPIs, in one answer
``GET  /api/page/invoices``                 open items of a customer and/or a bucket (``?customer_id=&bucket=``)
``POST /api/page/pause``                    pause (or resume) a customer; a Contacts row records it
``GET  /api/page/matches``                  the Matches sheet, for the reconciliation review
``POST /api/page/matches``                  accept / reject / change the invoices of proposals
``POST /api/page/preview``                  today's reminders with the rendered messages, count and totals
``POST /api/page/send``                     start sending (202); a second start while running gets 409
``GET  /api/page/send``                     progress and result of the latest run
==========================================  ===========================================================

Reads are served from a parsed ledger kept in memory per workbook and read again only when the file changed
(size or modification time), so the page stays fast on a 100,000-invoice ledger.

Security: every page response carries a strict Content-Security-Policy (scripts and styles from this service
only; nothing inline), and requests from another origin are refused unless the origin is declared in
``app.config["COBRO_ALLOWED_ORIGINS"]`` (or ``$COBRO_ALLOWED_ORIGINS``, comma-separated): a host issue (the
Excel add-in, the Sheets sidebar) declares its origin there.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, g, request, send_from_directory

from cobro.errors import CobroError, ConflictError, InputError, UserError

log = logging.getLogger("cobro.page")

STATIC = Path(__file__).resolve().with_name("static")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
RUN_IN_PROGRESS = "a run is already in progress"
MAX_PASTE = 2 * 1024 * 1024  # characters of pasted statement text


# --------------------------------------------------------------------------------------------- errors


class PageError(CobroError):
    """A request the page can fix or must wait out; answered as ``{"error", "field"?}`` with ``status``."""

    def __init__(self, status: int, message: str, *, field: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, column=field)
        self.http_status = status
        self.field = field
        self.headers = dict(headers or {})

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        out: dict[str, Any] = {"error": str(self)}
        if self.field:
            out["field"] = self.field
        return out


class WorkbookProblems(InputError):
    """The workbook's problems (422), each also with the sheet title and column header the person sees."""

    def __init__(self, error: Any) -> None:
        super().__init__(str(error))
        self.error = error

    def to_json(self, locale: str = "en") -> dict[str, Any]:
        from cobro.schema import SHEETS_BY_KEY

        lang = getattr(self.error, "locale", None) or locale
        body = self.error.to_json(lang)
        body["locale"] = lang  # the page speaks the workbook's language even when it cannot read the rest
        for p in body.get("problems", []):
            spec = SHEETS_BY_KEY.get(str(p.get("sheet")))
            if spec is None:
                continue
            p["sheet_title"] = spec.title(lang)
            try:
                p["column_header"] = spec.column(str(p.get("column"))).header(lang)
            except (KeyError, ValueError, StopIteration):
                pass
        return body


def _bad(name: str, message: str) -> PageError:
    return PageError(400, f"{name}: {message}", field=name)


# --------------------------------------------------------------------------------------------- state


@dataclass
class _Cached:
    fingerprint: tuple[int, int]
    ledger: Any
    results: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@dataclass
class SendRun:
    """One "Send reminders" run started from the page (one at a time per ledger)."""

    started: float
    total: int
    done: int = 0
    state: str = "running"  # running, done, failed
    status: int = 200
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "done": self.done, "total": self.total,
                               "seconds": round(time.monotonic() - self.started, 1)}
        if self.result is not None:
            out["result"] = self.result
        if self.error is not None:
            out["error"] = self.error
        return out


class PageState:
    """What the page keeps per app: parsed ledgers (re-read when the file changed) and send runs."""

    def __init__(self, authenticate: Callable[[], None] | None) -> None:
        self.authenticate = authenticate
        self.cache: dict[str, _Cached] = {}
        self.runs: dict[str, SendRun] = {}
        self.guard = threading.Lock()
        self.reading: dict[str, threading.Lock] = {}  # one reader per workbook; the others wait for its result

    def ledger(self, path: Path) -> Any:
        """The parsed ledger of ``path``: from memory while the file is unchanged, else read (and validated)."""
        return self._entry(path).ledger

    def _entry(self, path: Path) -> _Cached:
        from cobro.ledger import LedgerError
        from sync.stores import open_store

        key = str(path)
        with self.guard:
            reading = self.reading.setdefault(key, threading.Lock())
        with reading:
            fp = _fingerprint(path)
            with self.guard:
                hit = self.cache.get(key)
            if hit is not None and hit.fingerprint == fp:
                return hit
            try:
                led = open_store(path).load()  # every problem of the workbook: nothing is cached then
            except LedgerError as e:
                raise WorkbookProblems(e) from None
            entry = _Cached(fp, led)
            with self.guard:
                self.cache[key] = entry
            return entry

    def computed(self, path: Path, key: tuple[Any, ...], compute: Callable[[Any], Any]) -> Any:
        """``compute(ledger)``, remembered for this version of the file."""
        entry = self._entry(path)
        with entry.lock:
            if key not in entry.results:
                if len(entry.results) > 32:
                    entry.results.clear()
                entry.results[key] = compute(entry.ledger)
            return entry.results[key]


SHEET_CACHE_SECONDS = 20  # a Google Sheet has no cheap "changed?": its parsed copy is kept this long


def _fingerprint(path: Path | str) -> tuple[int, int]:
    if isinstance(path, str):  # "gsheet:KEY": re-read at most every SHEET_CACHE_SECONDS (one API call a read)
        return (int(time.monotonic() // SHEET_CACHE_SECONDS), -2)
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


def _state() -> PageState:
    return current_app.extensions["cobro_page"]


def _served() -> Any:
    """The ledger the request's token opened (set by the service's token check)."""
    ledger = getattr(g, "ledger", None)
    if ledger is None:  # pragma: no cover - the token check always runs first
        raise PageError(401, "missing API token")
    return ledger


def _store() -> Any:
    from sync.stores import open_store

    return open_store(_served().path)


def _cycle_paths() -> dict[str, Any]:
    """Where a served Google Sheet keeps its journal, outbox and letters (a workbook keeps them beside it)."""
    from sync.stores import cycle_paths

    return cycle_paths(str(_served().path))


def _today(led: Any) -> dt.date:
    from zoneinfo import ZoneInfo

    try:
        tz = ZoneInfo(str(led.settings.timezone or "UTC"))
    except Exception:
        tz = ZoneInfo("UTC")
    return dt.datetime.now(tz).date()


def _lock(wait: bool) -> threading.Lock:
    """Take the served ledger's in-process lock (the one the service's routes and scheduler use)."""
    lock: threading.Lock = _served().lock
    timeout = float(getattr(current_app.extensions["cobro"], "lock_timeout", 30.0))
    got = lock.acquire(timeout=timeout) if wait else lock.acquire(blocking=False)
    if not got:
        raise PageError(409, f"{RUN_IN_PROGRESS} on this ledger; wait for it to finish and try again")
    return lock


# --------------------------------------------------------------------------------------------- input


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: Any, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _ISO.fullmatch(value.strip()):
        raise _bad(name, f"{value!r} is not a date; expected YYYY-MM-DD, e.g. 2026-11-20")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise _bad(name, f"{value!r} is not a date of the calendar; expected YYYY-MM-DD") from None


def _args(allowed: tuple[str, ...]) -> Mapping[str, str]:
    unknown = sorted(k for k in request.args if k not in allowed)
    if unknown:
        raise _bad(unknown[0], f"unknown query parameter; expected {', '.join(allowed)}")
    return request.args


def _body(allowed: tuple[str, ...]) -> dict[str, Any]:
    import json

    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PageError(400, "the request body is not valid JSON", field="body") from None
    if not isinstance(data, dict):
        raise PageError(400, "the request body must be a JSON object", field="body")
    unknown = sorted(k for k in data if k not in allowed)
    if unknown:
        raise _bad(unknown[0], f"unknown field; expected one of {', '.join(allowed)}")
    return data


def _text(data: Mapping[str, Any], name: str, *, required: bool = False, max_len: int = 200) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise _bad(name, "is required")
        return ""
    if not isinstance(value, str):
        raise _bad(name, "expected text")
    if required and not value.strip():
        raise _bad(name, "must not be blank")
    if len(value) > max_len:
        raise _bad(name, f"is {len(value)} characters long; at most {max_len}")
    return value.strip()


# --------------------------------------------------------------------------------------------- the page


page = Blueprint("page", __name__)
page_api = Blueprint("page_api", __name__, url_prefix="/api/page")


def _page_headers(resp: Response) -> Response:
    """Strict CSP; the page may be framed only by this service and the declared origins (a host's task pane)."""
    declared = sorted(_allowed_origins(current_app))
    resp.headers["Content-Security-Policy"] = CSP.replace("frame-ancestors 'self'",
                                                          " ".join(["frame-ancestors 'self'", *declared]))
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    if not declared:
        resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp


@page.get("/")
def index() -> Response:
    """The page. The token comes from the browser's storage or the URL fragment (``/#token=…``), never here."""
    resp = send_from_directory(STATIC, "index.html", max_age=0)
    resp.headers["Cache-Control"] = "no-cache"
    return _page_headers(resp)


@page.get("/page/static/<path:name>")
def static_file(name: str) -> Response:
    """The page's scripts, styles and vendored libraries (served here: no CDN, works offline)."""
    resp = send_from_directory(STATIC, name, max_age=0)
    resp.headers["Cache-Control"] = "no-cache"
    return _page_headers(resp)


@page_api.before_request
def _authenticate() -> None:
    check = _state().authenticate
    if check is not None:
        check()
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    ledger = current_app.extensions["cobro"].by_token(token.strip()) if token.strip() else None
    if scheme.lower() != "bearer" or ledger is None:
        raise PageError(401, "missing or unknown API token (print it with `cobro token LEDGER`)",
                        headers={"WWW-Authenticate": 'Bearer realm="cobro"'})
    g.ledger = ledger


# --------------------------------------------------------------------------------------------- overview


def _next_action_dates(led: Any, report: Any, day: dt.date) -> dict[str, str]:
    """customer_id -> the date its next action is due: today for anything to do now; the promised day (plus
    the grace days) while a promise is pending."""
    import pandas as pd

    out = {r.customer_id: day.isoformat() for r in report.rows}
    pending = [r.customer_id for r in report.rows if r.promise == "pending"]
    if pending and len(led.contacts):
        c = led.contacts
        sub = c[(c["outcome"] == "promise") & c["customer_id"].isin(pending) & c["promise_date"].notna()]
        if len(sub):
            grace = int(getattr(led.settings, "promise_grace_days", 0) or 0)
            last = sub.sort_values("timestamp").groupby("customer_id")["promise_date"].last()
            for cust, when in last.items():
                out[str(cust)] = (pd.Timestamp(when).date() + dt.timedelta(days=grace)).isoformat()
    return out


def _nonzero(amount: str) -> bool:
    return any(c in "123456789" for c in str(amount))


def _overview(led: Any, day: dt.date, months: int) -> dict[str, Any]:
    from cobro.aging import aging
    from cobro.kpis import kpis
    from cobro.report_tables import aging_totals_table
    from cobro.worklist import worklist

    locale = led.settings.locale
    wl = worklist(led, day)
    dates = _next_action_dates(led, wl, day)
    wl_json = wl.to_json()
    for row in wl_json["rows"]:
        row["next_action_date"] = dates.get(row["customer_id"], day.isoformat())
    ag = aging(led, day).to_json()
    names = dict(zip(led.customers["customer_id"].tolist(), led.customers["name"].tolist(), strict=True))
    status = dict(zip(led.customers["customer_id"].tolist(), led.customers["status"].tolist(), strict=True))
    for row in wl_json["rows"]:
        row["status"] = status.get(row["customer_id"], "")
    customers = [{"customer_id": r["customer_id"], "name": names.get(r["customer_id"], ""),
                  "currency": r["currency"], "not_due": r["not_due"], "buckets": r["buckets"],
                  "total_due": r["total_due"], "outstanding": r["outstanding"]}
                 for r in ag["rows"] if any(_nonzero(r[k]) for k in ("outstanding", "total_due", "not_due"))]
    return {"locale": locale, "company": led.settings.company_name, "as_of": day.isoformat(), "months": months,
            "worklist": wl_json, "aging": {"as_of": ag["as_of"], "buckets": ag["buckets"], "totals": ag["totals"],
                                           "totals_table": aging_totals_table(ag), "customers": customers},
            "kpis": kpis(led, day, months=months).to_json()}


@page_api.get("/overview")
def overview() -> Any:
    """Worklist (with next-action dates), aging per bucket and currency (chart + table) and KPIs, in the
    ledger's locale, from the parsed ledger kept in memory."""
    args = _args(("as_of", "months"))
    as_of = _date(args.get("as_of"), "as_of")
    months_text = args.get("months", "3").strip()
    if not re.fullmatch(r"\d{1,2}", months_text) or not 1 <= int(months_text) <= 36:
        raise _bad("months", f"{months_text!r} is not a whole number of months from 1 to 36")
    months = int(months_text)
    st, served = _state(), _served()
    led = st.ledger(served.path)
    day = as_of or _today(led)
    body = st.computed(served.path, ("overview", day, months), lambda ld: _overview(ld, day, months))
    return {"ledger": served.name, **body}


@page_api.get("/invoices")
def invoices() -> Any:
    """The open items (invoices, credit notes, advances) of a customer and/or an aging bucket."""
    from cobro.aging import aging

    args = _args(("as_of", "customer_id", "bucket", "currency"))
    as_of = _date(args.get("as_of"), "as_of")
    customer = (args.get("customer_id") or "").strip()
    bucket = (args.get("bucket") or "").strip()
    currency = (args.get("currency") or "").strip().upper()
    if not customer and not bucket:
        raise _bad("customer_id", "give customer_id or bucket (or both)")
    st, served = _state(), _served()
    led = st.ledger(served.path)
    day = as_of or _today(led)
    rep = st.computed(served.path, ("by_invoice", day), lambda ld: aging(ld, day, by="invoice"))
    f = rep.frame
    if bucket and bucket not in ("not_due", *rep.labels):
        raise _bad("bucket", f"{bucket!r} is not a bucket; expected not_due or one of {', '.join(rep.labels)}")
    mask = f["customer_id"].notna()
    if customer:
        mask &= f["customer_id"] == customer
    if bucket:
        mask &= f["bucket"] == bucket
    if currency:
        mask &= f["currency"] == currency
    sub = rep.__class__(as_of=rep.as_of, bounds=rep.bounds, basis=rep.basis, by="invoice", frame=f[mask],
                        totals=rep.totals)
    rows = sub.to_json()["rows"][:2000]
    names = dict(zip(led.customers["customer_id"].tolist(), led.customers["name"].tolist(), strict=True))
    for r in rows:
        r["name"] = names.get(r["customer_id"], "")
    return {"ledger": served.name, "as_of": day.isoformat(), "customer_id": customer or None,
            "bucket": bucket or None, "currency": currency or None, "count": int(mask.sum()), "rows": rows}


# --------------------------------------------------------------------------------------------- pause


@page_api.post("/pause")
def pause() -> Any:
    """Pause a customer (no reminders, shown last in the worklist) or resume it: the Customers status changes
    and a Contacts row records who did it and why."""
    import pandas as pd

    from sync.cycle import contact_time, log_contact
    from sync.store import Changes

    data = _body(("customer_id", "paused", "notes", "user", "as_of"))
    customer = _text(data, "customer_id", required=True)
    paused = data.get("paused", True)
    if not isinstance(paused, bool):
        raise _bad("paused", "expected true or false")
    notes = _text(data, "notes", max_len=2000)
    user = _text(data, "user") or "page"
    as_of = _date(data.get("as_of"), "as_of")
    lock = _lock(wait=True)
    try:
        store = _store()
        led = store.load()
        rows = led.customers[led.customers["customer_id"] == customer]
        if rows.empty:
            raise _bad("customer_id", f"customer {customer!r} is not in the Customers sheet")
        status = "paused" if paused else "active"
        store.commit(Changes(update={"Customers": pd.DataFrame({"_row": rows["_row"].tolist(),
                                                                "status": [status] * len(rows)})}))
        store = _store()
        led = store.load()
        day = as_of or _today(led)
        word = ("pausado" if paused else "reanudado") if led.settings.locale == "es" else \
            ("paused" if paused else "resumed")
        row = {"timestamp": pd.Timestamp(contact_time(led, day)), "customer_id": customer, "invoice_ids": (),
               "channel": "other", "direction": "out", "level": "", "outcome": "note", "promise_date": None,
               "promise_amount": None, "user": user, "subject": "", "notes": f"{word}: {notes}" if notes else word,
               "message_id": ""}
        log_contact(store, row, day, led)
    finally:
        lock.release()
    return {"ledger": _served().name, "customer_id": customer, "status": status}, 201


# --------------------------------------------------------------------------------------------- reconcile


@page_api.get("/matches")
def matches() -> Any:
    """The Matches sheet (the proposals and the decisions taken), for the review."""
    from cobro import money

    led = _store().load()
    m = led.matches
    rows = []
    if m is not None and len(m):
        for r in m.to_dict("records"):
            cur = str(r.get("currency") or led.settings.base_currency)
            amt = r.get("amount")
            rows.append({"row": int(r["_row"]), "statement_line": r["statement_line"],
                         "date": _iso(r.get("date")), "currency": cur,
                         "amount": money.format_decimal(int(amt), cur) if _present(amt) else None,
                         "text": r.get("text") or "", "invoice_ids": list(r.get("invoice_ids") or ()),
                         "customer_id": r.get("customer_id") or "",
                         "confidence": float(r["confidence"]) if _present(r.get("confidence")) else None,
                         "reason": r.get("reason") or "", "action": r.get("action") or ""})
    return {"ledger": _served().name, "locale": led.settings.locale, "rows": rows}


def _present(v: Any) -> bool:
    import pandas as pd

    return v is not None and not (isinstance(v, float) and v != v) and v is not pd.NA and v is not pd.NaT


def _iso(v: Any) -> str | None:
    import pandas as pd

    return pd.Timestamp(v).date().isoformat() if _present(v) else None


@page_api.post("/matches")
def decide() -> Any:
    """Record decisions on proposals: ``{"decisions": [{"statement_line", "action": "accept"|"reject"|"",
    "invoice_ids": [...]}]}``; written to the Matches sheet as a person would type them there."""
    import pandas as pd

    data = _body(("decisions",))
    decisions = data.get("decisions")
    if not isinstance(decisions, list) or not decisions:
        raise _bad("decisions", "expected a non-empty list of {statement_line, action, invoice_ids}")
    lock = _lock(wait=True)
    try:
        store = _store()
        led = store.load()
        m = led.matches
        by_line = {} if m is None else dict(zip(m["statement_line"].tolist(), m["_row"].tolist(), strict=True))
        known_inv = set(led.invoices["invoice_id"].tolist())
        rows, actions, ids = [], [], []
        for i, d in enumerate(decisions):
            where = f"decisions[{i}]"
            if not isinstance(d, dict) or set(d) - {"statement_line", "action", "invoice_ids"}:
                raise _bad(where, "expected {statement_line, action, invoice_ids}")
            line = d.get("statement_line")
            if line not in by_line:
                raise _bad(f"{where}.statement_line", f"{line!r} is not a line of the Matches sheet")
            action = d.get("action") or ""
            if action not in ("accept", "reject", ""):
                raise _bad(f"{where}.action", f"{action!r} is not accept, reject or blank")
            inv = d.get("invoice_ids")
            if inv is not None:
                if not isinstance(inv, list) or not all(isinstance(x, str) for x in inv):
                    raise _bad(f"{where}.invoice_ids", "expected a list of invoice numbers")
                inv = tuple(dict.fromkeys(x.strip() for x in inv if x.strip()))
                for x in inv:
                    if x not in known_inv:
                        raise _bad(f"{where}.invoice_ids", f"invoice {x!r} is not in the Invoices sheet")
            rows.append(int(by_line[line]))
            actions.append(action or None)
            ids.append(inv)
        frame = pd.DataFrame({"_row": rows, "action": actions})
        if any(x is not None for x in ids):
            current = dict(zip(m["_row"].tolist(), m["invoice_ids"].tolist(), strict=True))
            frame["invoice_ids"] = [x if x is not None else tuple(current[r] or ()) for x, r in zip(ids, rows,
                                                                                                   strict=True)]
        from sync.store import Changes

        store.commit(Changes(update={"Matches": frame}))
    finally:
        lock.release()
    return {"ledger": _served().name, "decided": len(rows)}


# --------------------------------------------------------------------------------------------- reminders


def _plan_summary(plan_json: dict[str, Any], plan: Any) -> dict[str, Any]:
    from cobro import money

    totals: dict[str, int] = {}
    for it in plan.items:
        for cur, minor in it.totals.items():
            totals[cur] = totals.get(cur, 0) + int(minor)
    channels: dict[str, int] = {}
    for it in plan.items:
        channels[it.channel] = channels.get(it.channel, 0) + 1
    return {"count": len(plan.items), "emails": channels.get("email", 0), "channels": channels,
            "totals": {c: money.format_decimal(v, c) for c, v in sorted(totals.items())}}


@page_api.post("/preview")
def preview() -> Any:
    """What goes out today, per customer: level, channel, invoices and the rendered message; with the count and
    the totals per currency the Send button asks to confirm. Nothing is sent or written."""
    from sync.cycle import collect

    data = _body(("as_of",))
    as_of = _date(data.get("as_of"), "as_of")
    svc = current_app.extensions["cobro"]
    store = _store()
    led = _state().ledger(_served().path)
    day = as_of or _today(led)
    result = collect(store, day, dry_run=True, config=svc.smtp_config, use_env=False, **_cycle_paths())
    locale = led.settings.locale
    body = result.to_json(locale)
    run = _state().runs.get(_served().canonical)
    return {"ledger": _served().name, "locale": locale, **body, "summary": _plan_summary(body, result.plan),
            "running": bool(run and run.state == "running")}


@page_api.post("/send")
def send() -> Any:
    """Start sending today's reminders (exactly once, logged in Contacts); 202 with the run's progress. A second
    start while a run is in progress is refused (409) and says so."""
    from sync.cycle import collect

    data = _body(("as_of", "expect_count"))
    as_of = _date(data.get("as_of"), "as_of")
    expect = data.get("expect_count")
    if expect is not None and (isinstance(expect, bool) or not isinstance(expect, int)):
        raise _bad("expect_count", "expected a whole number (the count the person confirmed)")
    st, served = _state(), _served()
    lock = _lock(wait=False)
    try:
        store = _store()
        led = store.load()
        day = as_of or _today(led)
        plan = collect(store, day, dry_run=True, config=current_app.extensions["cobro"].smtp_config,
                       use_env=False, **_cycle_paths()).plan
        if expect is not None and expect != len(plan.items):
            raise ConflictError(f"the plan changed since the preview ({len(plan.items)} reminders now, "
                                f"{expect} confirmed); nothing was sent: look at the preview again")
        run = SendRun(started=time.monotonic(), total=sum(1 for it in plan.items if it.channel == "email"))
        kwargs = {**current_app.extensions["cobro"].collect_kwargs(), **_cycle_paths()}
        locale = led.settings.locale
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        with st.guard:
            st.runs[served.canonical] = run
    except BaseException:
        lock.release()
        raise

    def progress(n: int) -> None:
        run.done += n

    def work() -> None:
        try:
            with app.app_context():
                result = collect(store, day, progress=progress, **kwargs)
                run.result = {"ledger": served.name, **result.to_json(locale)}
                if result.batch is not None and result.batch.error:
                    run.error = {"error": f"the mail server failed during the run: {result.batch.error}"}
                    run.status = 502
            run.state = "done"
        except CobroError as e:
            run.error = e.to_json(locale)
            run.status = e.http_status
            run.state = "failed"
        except Exception:
            log.exception("sending from the page failed")
            run.error = {"error": "internal error (a bug in cobro); the details are in the server log"}
            run.status = 500
            run.state = "failed"
        finally:
            lock.release()

    threading.Thread(target=work, name=f"cobro-send-{served.name}", daemon=True).start()
    return current_app.json.response({"ledger": served.name, **run.to_json()}), 202


@page_api.get("/send")
def send_status() -> Any:
    """Progress of the latest run started from the page (``state``: idle, running, done, failed)."""
    run = _state().runs.get(_served().canonical)
    if run is None:
        return {"ledger": _served().name, "state": "idle", "done": 0, "total": 0}
    return {"ledger": _served().name, **run.to_json(), "status": run.status}


# --------------------------------------------------------------------------------------------- origins


_ORIGIN = re.compile(r"https?://(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d{1,5})?|https?://[A-Za-z0-9.-]+(?::\d{1,5})?")


def _allowed_origins(app: Flask) -> set[str]:
    declared = app.config.get("COBRO_ALLOWED_ORIGINS")
    if declared is None:
        declared = [o for o in os.environ.get("COBRO_ALLOWED_ORIGINS", "").split(",") if o.strip()]
    out = {str(o).strip().rstrip("/") for o in declared}
    return {o for o in out if _ORIGIN.fullmatch(o)}  # scheme://host[:port] only: they go into a CSP header


def allowed_origins(app: Flask) -> set[str]:
    """The origins declared to this service (``COBRO_ALLOWED_ORIGINS``): ``scheme://host[:port]``, or
    ``https://*.domain`` for every subdomain (Google's and Office's frames come from many hosts)."""
    return _allowed_origins(app)


def origin_declared(app: Flask, origin: str) -> bool:
    """True when ``origin`` (a request's ``Origin``) is declared: exactly, or under a ``https://*.domain``."""
    origin = origin.rstrip("/")
    declared = _allowed_origins(app)
    if origin in declared:
        return True
    there = urlsplit(origin)
    host = there.hostname or ""
    for pattern in declared:
        if "://*." not in pattern:
            continue
        want = urlsplit(pattern.replace("://*.", "://", 1))
        suffix = "." + (want.hostname or "")
        if (there.scheme == want.scheme and host.endswith(suffix) and len(host) > len(suffix)
                and there.port == want.port):
            return True
    return False


def _same_origin(origin: str) -> bool:
    here = urlsplit(request.host_url)
    there = urlsplit(origin)
    return (there.scheme, there.netloc) == (here.scheme, here.netloc)


def _install_origin_check(app: Flask) -> None:
    """Refuse requests from other origins (a page elsewhere using a stored token), except declared ones, which
    get the CORS headers they need."""

    @app.before_request
    def _check_origin() -> Response | None:
        origin = request.headers.get("Origin")
        if not origin or _same_origin(origin):
            return None
        if not origin_declared(app, origin):
            raise _Forbidden(f"requests from {origin} are refused: that origin is not declared to this service")
        if request.method == "OPTIONS":
            resp = app.make_default_options_response()
            resp.status_code = 204
            return resp
        return None

    @app.after_request
    def _cors(resp: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and not _same_origin(origin) and origin_declared(app, origin):
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Vary"] = "Origin"
            resp.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            resp.headers["Access-Control-Max-Age"] = "600"
        return resp


class _Forbidden(UserError):
    http_status = 403


def _warm(state: PageState, paths: list[Path]) -> None:
    """Read the served ledgers once in the background and compute today's overview, so the page's first visit
    is answered from memory."""
    for path in paths:
        try:
            led = state.ledger(path)
            day = _today(led)
            state.computed(path, ("overview", day, 3), lambda ld, day=day: _overview(ld, day, 3))
        except Exception:  # a workbook with problems is reported when the page asks, with every problem
            log.debug("warming %s failed", path, exc_info=True)


def register_page(app: Flask, authenticate: Callable[[], None] | None = None) -> None:
    """Serve the page on ``app`` (called once by ``server.create_app``). ``authenticate``: the service's token
    check, which sets ``g.ledger`` (without it, a check over ``app.extensions["cobro"].by_token`` is used)."""
    state = PageState(authenticate)
    app.extensions["cobro_page"] = state
    if app.config.get("COBRO_PAGE_WARM", True):
        paths = [entry.path for entry in app.extensions["cobro"].ledgers.values()]
        threading.Thread(target=_warm, args=(state, paths), name="cobro-page-warm", daemon=True).start()
    _install_origin_check(app)
    app.register_blueprint(page)
    app.register_blueprint(page_api)
