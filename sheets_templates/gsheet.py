"""The ledger template as a Google Sheet: ``cobro new --google-sheet TITLE``.

The content is the Excel template's, cell for cell (``build_workbook`` is the one source of sheets, headers,
defaults, Levels and Templates): it is built in memory and its values written to a new spreadsheet. What differs
is what Sheets does differently:

- each cobro table is a sheet whose first row is the header; a named range ``cobro_<Key>`` covers the sheet, so
  the store reads every table in one call without asking for the sheet list first;
- formats (dates, money with two decimals), validations (drop-downs of the localized enum labels) and the frozen
  header are set on whole columns, so rows cobro or a person appends take them;
- Excel's calculated helper columns and structured references do not exist in Sheets: the Summary sums the
  derived columns cobro writes on every refresh (balance, currency, days overdue) with ``SUMIFS``, so it shows the
  aging as of the last daily cycle;
- the spreadsheet is shared with the given people (Drive permissions, ``writer``).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from cobro.ledger import Ledger
from cobro.schema import INVOICES, SHEETS, Sheet, enum_label, find_sheet, normalize_header
from sync.cells import column_letters

from .workbook import HELPER_COLUMNS, build_workbook

SHEETS_API = "https://sheets.googleapis.com/v4/spreadsheets"
NAMED_PREFIX = "cobro_"
_GOOGLE_LOCALE = {"es": "es_ES", "en": "en_US"}
_EPOCH = dt.datetime(1899, 12, 30)


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        delta = v - _EPOCH
        return delta.days + delta.seconds / 86400
    if isinstance(v, dt.date):
        return (v - _EPOCH.date()).days
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def template_sheets(locale: str, ledger: Ledger | None = None, as_of: dt.date | None = None
                    ) -> list[tuple[Sheet, str, list[list[Any]]]]:
    """Per cobro table: its spec, title and rows of values (helper columns and the Summary left out)."""
    from python_calamine import CalamineWorkbook

    buf = io.BytesIO()
    build_workbook(buf, locale=locale, ledger=ledger, as_of=as_of)
    wb = CalamineWorkbook.from_filelike(io.BytesIO(buf.getvalue()))
    helpers = {normalize_header(h.header(locale)) for cols in HELPER_COLUMNS.values() for h in cols}
    out = []
    for title in wb.sheet_names:
        spec = find_sheet(title)
        if spec is None:
            continue
        rows = wb.get_sheet_by_name(title).to_python(skip_empty_area=False)
        if not rows:
            out.append((spec, title, []))
            continue
        keep = [i for i, h in enumerate(rows[0]) if normalize_header(h) not in helpers]
        cleaned = [[_cell(r[i]) if i < len(r) else "" for i in keep] for r in rows]
        cleaned = [r for j, r in enumerate(cleaned) if j == 0 or any(v != "" for v in r)]
        out.append((spec, title, cleaned))
    return out


def _summary(locale: str, invoices_title: str, header: list[Any], currencies: Sequence[str],
             buckets: Sequence[int]) -> list[list[Any]]:
    """Summary rows: per currency, the open balance by days overdue (SUMIFS over cobro's derived columns)."""
    cols = {normalize_header(h): i for i, h in enumerate(header)}

    def ref(key: str) -> str:
        i = cols[normalize_header(INVOICES.column(key).header(locale))]
        letter = column_letters(i + 1)
        return f"'{invoices_title}'!${letter}$2:${letter}"

    es = locale == "es"
    labels = ["Al corriente" if es else "Current"]
    lo = 1
    for b in buckets:
        labels.append(f"{lo}-{b}")
        lo = b + 1
    labels.append(f"> {buckets[-1]}")
    total = "Total"
    rows: list[list[Any]] = [
        ["Resumen de antigüedad de saldos" if es else "Aging summary"],
        ["Saldos y días vencidos del último refresco de cobro (cada ciclo diario)" if es
         else "Balances and days overdue as of cobro's last refresh (every daily cycle)"],
        [],
        ["Moneda" if es else "Currency", *labels, total],
    ]
    bal, cur, days = ref("balance"), ref("currency"), ref("days_overdue")
    for c in currencies:
        row: list[Any] = [c, f'=SUMIFS({bal},{cur},"{c}",{days},"<=0")']
        lo = 1
        for b in buckets:
            row.append(f'=SUMIFS({bal},{cur},"{c}",{days},">={lo}",{days},"<={b}")')
            lo = b + 1
        row.append(f'=SUMIFS({bal},{cur},"{c}",{days},">{buckets[-1]}")')
        row.append(f'=SUMIFS({bal},{cur},"{c}")')
        rows.append(row)
    return rows


def create_google_sheet(gclient: Any, title: str, *, locale: str = "es", share_with: Sequence[str] = (),
                        ledger: Ledger | None = None, as_of: dt.date | None = None,
                        time_zone: str | None = None) -> str:
    """Create the ledger template as a new Google Sheet shared with ``share_with``; returns its key."""
    sheets = template_sheets(locale, ledger, as_of)
    summary_title = "Resumen" if locale == "es" else "Summary"
    tz = time_zone or ("Europe/Madrid" if locale == "es" else "Europe/London")
    body = {"properties": {"title": title, "locale": _GOOGLE_LOCALE.get(locale, "en_US"), "timeZone": tz},
            "sheets": [{"properties": {"title": summary_title, "index": 0}}]
            + [{"properties": {"title": t, "index": i + 1,
                               "gridProperties": {"rowCount": max(1000, len(rows) + 500),
                                                  "columnCount": max(26, len(rows[0]) + 4 if rows else 26),
                                                  "frozenRowCount": 1}}}
               for i, (_, t, rows) in enumerate(sheets)]}
    http = gclient.http_client
    created = http.request("post", SHEETS_API, json=body).json()
    key = created["spreadsheetId"]
    ids = {s["properties"]["title"]: s["properties"]["sheetId"] for s in created.get("sheets", [])}

    data = [{"range": f"'{t}'!A1", "values": rows} for _, t, rows in sheets if rows]
    http.values_batch_update(key, {"valueInputOption": "RAW", "data": data})

    inv = next((rows for spec, _, rows in sheets if spec.key == "Invoices"), [[]])
    inv_title = next((t for spec, t, _ in sheets if spec.key == "Invoices"), "Invoices")
    base = ledger.settings.base_currency if ledger is not None else ("EUR" if locale == "es" else "GBP")
    currencies = sorted({base} | ({str(c) for c in ledger.invoices["currency"].tolist()} if ledger is not None
                                  else set()))
    buckets = ledger.settings.aging_buckets if ledger is not None else (30, 60, 90, 120)
    summary = _summary(locale, inv_title, inv[0] if inv else [], currencies, buckets)
    http.values_batch_update(key, {"valueInputOption": "USER_ENTERED",
                                   "data": [{"range": f"'{summary_title}'!A1", "values": summary}]})

    requests: list[dict[str, Any]] = []
    for spec, t, rows in sheets:
        sid = ids[t]
        requests.append({"addNamedRange": {"namedRange": {"name": NAMED_PREFIX + spec.key,
                                                          "range": {"sheetId": sid}}}})
        header = rows[0] if rows else []
        for i, h in enumerate(header):
            col = _column_for(spec, h, locale)
            if col is None:
                continue
            rng = {"sheetId": sid, "startRowIndex": 1, "startColumnIndex": i, "endColumnIndex": i + 1}
            if col.type in ("date", "datetime"):
                pattern = ("dd/mm/yyyy" if locale == "es" else "yyyy-mm-dd") + (" hh:mm" if col.type == "datetime"
                                                                                 else "")
                requests.append({"repeatCell": {"range": rng, "fields": "userEnteredFormat.numberFormat",
                                                "cell": {"userEnteredFormat": {"numberFormat": {
                                                    "type": "DATE_TIME" if col.type == "datetime" else "DATE",
                                                    "pattern": pattern}}}}})
            elif col.type == "money":
                requests.append({"repeatCell": {"range": rng, "fields": "userEnteredFormat.numberFormat",
                                                "cell": {"userEnteredFormat": {"numberFormat": {
                                                    "type": "NUMBER", "pattern": "#,##0.00"}}}}})
            elif col.type in ("enum", "bool") and (col.choices or col.type == "bool"):
                choices = col.choices or ("yes", "no")
                requests.append({"setDataValidation": {"range": rng, "rule": {
                    "condition": {"type": "ONE_OF_LIST",
                                  "values": [{"userEnteredValue": enum_label(c, locale)} for c in choices]},
                    "strict": False, "showCustomUi": True}}})
        requests.append({"repeatCell": {"range": {"sheetId": sid, "startRowIndex": 0, "endRowIndex": 1},
                                        "fields": "userEnteredFormat.textFormat.bold",
                                        "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}}}})
    http.batch_update(key, {"requests": requests})
    for email in share_with:
        http.insert_permission(key, email, perm_type="user", role="writer", notify=True)
    return key


def _column_for(spec: Sheet, header: Any, locale: str) -> Any:
    target = normalize_header(header)
    for c in spec.columns:
        if normalize_header(c.header(locale)) == target or normalize_header(c.key) == target:
            return c
    return None


__all__ = ["create_google_sheet", "template_sheets", "SHEETS"]
