"""cobro in xlwings Lite (Python inside the workbook, through Pyodide): paste this file into xlwings Lite's
``main.py`` editor. It imports nothing of cobro — the cobro service does the work — so it runs wherever xlwings
Lite runs (Windows, Mac, Excel on the web).

Settings (xlwings Lite ▸ Environment Variables, scope *Local*: kept in this browser, never in the workbook):
``COBRO_URL`` (the service's HTTPS address) and ``COBRO_TOKEN`` (``cobro token LEDGER``). The service must allow
xlwings Lite's origin: ``COBRO_ALLOWED_ORIGINS=https://addin.xlwings.org``.

- Script **preview_reminders**: today's count and total, nothing sent (printed in the output pane).
- Script **send_reminders(expected_count)**: type the count the preview showed; the service refuses if the plan
  changed meanwhile (nothing sent), else sends each reminder exactly once (its journal) and this script writes the
  Contacts rows and the invoice columns into the workbook.
- Functions ``=COBRO_AGING(Facturas[#All], Clientes[#All], Pagos[#All], Ajustes[#All], TODAY())``,
  ``=COBRO_KPIS(…, TODAY(), 3)``: amounts as numbers.
- ``=COBRO_FORECAST(Facturas[#All], Clientes[#All], Pagos[#All], Ajustes[#All], TODAY(), "EUR", , 13,
  Gestiones[#All])``: the expected cash-in per week (a header row, then week, start, end, currency, expected; a
  "later" row); with a currency and a week number, that single amount. Contacts (optional) adds the promises.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from decimal import Decimal
from typing import Any

import xlwings as xw
from xlwings import func, script

SEND_TABLES = ("Settings", "Customers", "Invoices", "Payments", "Contacts", "Plans", "Levels", "Templates")
EPOCH = dt.datetime(1899, 12, 30)


def _serial(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return (v - EPOCH).total_seconds() / 86400
    if isinstance(v, dt.date):
        return (dt.datetime(v.year, v.month, v.day) - EPOCH).days
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


def _fingerprint(header_row: int, headers: list[Any], rows: list[list[Any]]) -> str:
    text = json.dumps([header_row, headers, rows], ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read(book: Any, keys: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The ledger's Excel tables (named by their canonical keys) in the service's table JSON."""
    out: dict[str, dict[str, Any]] = {}
    for sheet in book.sheets:
        for table in sheet.tables:
            if table.name in keys and table.name not in out:
                rng = table.range
                values = rng.options(ndim=2).value or [[]]
                headers = [_serial(v) for v in values[0]]
                rows = [[_serial(v) for v in r] for r in values[1:]]
                out[table.name] = {"key": table.name, "title": sheet.name, "header_row": int(rng.row),
                                   "headers": headers, "rows": rows, "col": int(rng.column),
                                   "fingerprint": _fingerprint(int(rng.row), headers, rows), "sheet": sheet,
                                   "table": table}
    return out


def _body(tables: dict[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    keep = ("key", "title", "header_row", "headers", "rows", "fingerprint")
    return {"tables": [{k: t[k] for k in keep} for t in tables.values()], **extra}


async def _post(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST JSON to the cobro service with the browser's fetch (Pyodide); the service's error as an exception."""
    from pyodide.http import pyfetch

    url, token = os.getenv("COBRO_URL", "").rstrip("/"), os.getenv("COBRO_TOKEN", "")
    if not url or not token:
        raise RuntimeError("set COBRO_URL and COBRO_TOKEN under xlwings Lite ▸ Environment Variables (scope Local)")
    resp = await pyfetch(url + path, method="POST", body=json.dumps(body),
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    data = await resp.json()
    if not resp.ok:
        problems = "\n".join(p.get("message", "") for p in data.get("problems", [])[:10])
        raise RuntimeError(f"cobro: {data.get('error', resp.status)}" + (f"\n{problems}" if problems else ""))
    return data


def _totals(plan: dict[str, Any]) -> str:
    per: dict[str, Decimal] = {}
    for it in plan.get("items", []):
        for cur, amount in it.get("totals", {}).items():
            per[cur] = per.get(cur, Decimal(0)) + Decimal(amount)
    return " + ".join(f"{v} {c}" for c, v in sorted(per.items())) or "0"


def _cell(v: Any) -> Any:
    return None if v is None or v == "" else v


def apply_writes(tables: dict[str, dict[str, Any]], writes: dict[str, Any]) -> int:
    """Write the service's answer (TableWrites) into the workbook, column by column; refuses (nothing written) if
    a table changed since it was read or a row no longer holds its key."""
    specs, edits = writes.get("tables", {}), writes.get("edits", [])
    for e in edits:
        if e["op"] == "set" and e.get("match"):
            t = tables[e["table"]]
            col, want = next(iter(e["match"].items()))
            have = t["rows"][e["index"]][specs[e["table"]]["columns"][col]["index"]]
            if str(have) != str(want):
                raise RuntimeError(f"{t['title']} row {e['row']}: expected {want}, found {have}; nothing was written")
    for key, spec in specs.items():
        if spec.get("new") or any(c.get("new") for c in spec["columns"].values()):
            raise RuntimeError(f"cobro needs the table {key} with its columns; add them (cobro new makes them)")
    count = 0
    last: dict[str, int] = {}
    for e in edits:
        t, spec = tables[e["table"]], specs[e["table"]]
        sheet, col0 = t["sheet"], t["col"]
        if e["op"] == "set":
            for k, v in e["cells"].items():
                sheet.range((e["row"], col0 + spec["columns"][k]["index"])).value = _cell(v)
                count += 1
        else:
            for k, c in spec["columns"].items():
                values = [[_cell(obj.get(k))] for obj in e["rows"]]
                if values and any(v[0] is not None for v in values):
                    sheet.range((e["row"], col0 + c["index"]),
                                (e["row"] + len(values) - 1, col0 + c["index"])).value = values
            last[e["table"]] = max(last.get(e["table"], 0), e["row"] + len(e["rows"]) - 1)
            count += len(e["rows"])
    for key, row in last.items():
        t = tables[key]
        if row > t["header_row"] + len(t["rows"]):
            t["table"].resize(t["sheet"].range((t["header_row"], t["col"]),
                                               (row, t["col"] + len(t["headers"]) - 1)))
    return count


@script
async def preview_reminders(book: xw.Book) -> None:
    """Today's reminders: how many and for how much. Nothing is sent or written."""
    data = await _post("/api/tables/reminders/preview", _body(_read(book, SEND_TABLES)))
    plan = data["plan"]
    print(f"{len(plan['items'])} reminders today for {_totals(plan)}; to send them, run send_reminders with "
          f"expected_count = {len(plan['items'])}")


@script
async def send_reminders(book: xw.Book, expected_count: int) -> None:
    """Send today's reminders (exactly once) and write the contacts into this workbook."""
    tables = _read(book, SEND_TABLES)
    data = await _post("/api/tables/reminders/send", _body(tables, expect_count=int(expected_count)))
    written = apply_writes(tables, data["writes"])
    results = (data.get("send") or {}).get("results", [])
    sent = sum(1 for r in results if r["status"] == "sent")
    print(f"{sent} sent, {len(results) - sent} not sent; {data.get('logged_contacts', 0)} contacts logged "
          f"({written} cells and rows written)")


def _table_arg(values: list[list[Any]], key: str) -> dict[str, Any]:
    headers = [_serial(v) for v in values[0]]
    return {"key": key, "header_row": 1, "headers": headers, "rows": [[_serial(v) for v in r] for r in values[1:]]}


def _numbers(rows: list[list[Any]]) -> list[list[Any]]:
    out = [rows[0]]
    for r in rows[1:]:
        out.append([float(Decimal(v)) if isinstance(v, str) and v.replace(".", "", 1).lstrip("-").isdigit() else v
                    for v in r])
    return out


async def _summary(tables: tuple[list[list[Any]], ...], as_of: Any, months: int = 3) -> dict[str, Any]:
    keys = ("Invoices", "Customers", "Payments", "Settings")  # the functions' arguments, in this order
    body = {"tables": [_table_arg(t, k) for t, k in zip(tables, keys, strict=True)], "months": int(months)}
    if isinstance(as_of, dt.date | dt.datetime):
        body["as_of"] = as_of.strftime("%Y-%m-%d")
    return await _post("/api/tables/summary", body)


@func
async def cobro_aging(invoices: list[list[Any]], customers: list[list[Any]], payments: list[list[Any]],
                      settings: list[list[Any]], as_of: dt.date | None = None) -> list[list[Any]]:
    """Aging per customer and currency, amounts as numbers."""
    a = (await _summary((invoices, customers, payments, settings), as_of))["aging"]
    rows = [["customer_id", "currency", "not_due", *a["buckets"], "total_due", "outstanding"]]
    rows += [[r["customer_id"], r["currency"], r["not_due"], *r["buckets"], r["total_due"], r["outstanding"]]
             for r in a["rows"]]
    return _numbers(rows)


@func
async def cobro_kpis(invoices: list[list[Any]], customers: list[list[Any]], payments: list[list[Any]],
                     settings: list[list[Any]], as_of: dt.date | None = None, months: int = 3) -> list[list[Any]]:
    """DSO, countback DSO, best possible DSO, ADD and CEI per currency."""
    k = (await _summary((invoices, customers, payments, settings), as_of, months))["kpis"]
    rows = [["currency", "ar", "dso", "countback_dso", "best_dso", "add", "cei"]]
    rows += [[c, v["ar"], v["dso"], v["countback_dso"], v["best_dso"], v["add"], v["cei"]]
             for c, v in k["currencies"].items()]
    return _numbers(rows)


def _date_or_blank(text: str) -> Any:
    return dt.date.fromisoformat(text) if text else ""


@func
async def cobro_forecast(invoices: list[list[Any]], customers: list[list[Any]], payments: list[list[Any]],
                         settings: list[list[Any]], as_of: dt.date | None = None, currency: str = "",
                         week: int = 0, weeks: int = 13, contacts: list[list[Any]] | None = None) -> list[list[Any]]:
    """Expected cash-in per week and currency (never added together); with a currency and a week, one amount."""
    keys = ("Invoices", "Customers", "Payments", "Settings")
    tables = [_table_arg(t, k) for t, k in zip((invoices, customers, payments, settings), keys, strict=True)]
    if contacts:
        tables.append(_table_arg(contacts, "Contacts"))
    body: dict[str, Any] = {"tables": tables, "weeks": int(weeks or 13)}
    if isinstance(as_of, dt.date | dt.datetime):
        body["as_of"] = as_of.strftime("%Y-%m-%d")
    f = await _post("/api/tables/forecast", body)
    cur, week = str(currency or "").strip().upper(), int(week or 0)
    if not 0 <= week <= len(f["weeks"]):
        raise RuntimeError(f"cobro: week {week} is not a week from 1 to {len(f['weeks'])}")
    if week and cur:
        return [[float(Decimal(f["weeks"][week - 1]["inflow"].get(cur, "0")))]]
    rows: list[list[Any]] = [["week", "start", "end", "currency", "expected"]]
    for c in [c for c in f["currencies"] if not cur or c == cur]:
        for w in f["weeks"] if not week else [f["weeks"][week - 1]]:
            rows.append([w["week"], _date_or_blank(w["start"]), _date_or_blank(w["end"]), c, w["inflow"][c]])
        if not week:
            rows.append(["later", _date_or_blank(f["later_from"]), "", c, f["later"][c]])
    return _numbers(rows)
