"""A local fake of the part of the Google Sheets v4 REST API (and Drive v3 permissions) that gspread and cobro use.

It holds spreadsheets in memory and answers over real HTTP on loopback, so gspread talks to it through its own
HTTP client (a session whose base URL is this server's; see ``sync.gsheets``). It counts calls (reads and
writes), can inject 429/5xx answers, and can run a callback before a given call (a person editing the sheet
while cobro works).

Implemented: spreadsheets create / get (metadata; ``includeGridData`` is not) / batchUpdate (addSheet,
deleteSheet, updateSheetProperties, addNamedRange, updateNamedRange, deleteNamedRange, appendDimension,
insertDimension, setDataValidation, repeatCell, addConditionalFormatRule, updateSpreadsheetProperties,
autoResizeDimensions, updateDimensionProperties — the formatting ones are recorded, not rendered); values get,
batchGet, update, batchUpdate, append, clear, batchClear; A1 ranges with quoted titles, whole columns/rows and
named ranges; ``valueRenderOption`` UNFORMATTED_VALUE / FORMATTED_VALUE / FORMULA (formulas are stored, not
computed: they read as ``""`` unformatted); ``valueInputOption`` RAW / USER_ENTERED (numbers and formulas
recognised in the en_US way). Drive: POST files/{id}/permissions.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from sync.cells import column_index, column_letters

_A1 = re.compile(r"^(?:(?P<sheet>'(?:[^']|'')+'|[^!]+)!)?(?P<range>[A-Za-z]*\d*(?::[A-Za-z]*\d*)?)?$")
_CELL = re.compile(r"^(?P<col>[A-Za-z]*)(?P<row>\d*)$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def col_index(letters: str) -> int:
    """``A`` -> 0, ``AA`` -> 26 (0-based, as the API's grid indexes)."""
    return column_index(letters) - 1


def col_letters(index: int) -> str:
    """0-based column index -> ``A``, ``B`` …"""
    return column_letters(index + 1)


@dataclass
class FakeSheet:
    sheet_id: int
    title: str
    index: int
    rows: int = 1000
    cols: int = 26
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)  # (row, col) 0-based -> value or "=formula"
    frozen_rows: int = 0
    hidden: bool = False

    def last_row(self) -> int:
        return max((r for r, _ in self.cells), default=-1)

    def last_col(self) -> int:
        return max((c for _, c in self.cells), default=-1)


@dataclass
class FakeSpreadsheet:
    key: str
    title: str
    locale: str = "es_ES"
    time_zone: str = "Europe/Madrid"
    sheets: list[FakeSheet] = field(default_factory=list)
    named: dict[str, tuple[int, int | None, int | None, int | None, int | None]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)  # formatting requests, recorded
    permissions: list[dict[str, Any]] = field(default_factory=list)

    def sheet(self, title: str) -> FakeSheet:
        for s in self.sheets:
            if s.title == title:
                return s
        raise KeyError(title)

    def by_id(self, sheet_id: int) -> FakeSheet:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        raise KeyError(sheet_id)

    def add_sheet(self, title: str, rows: int = 1000, cols: int = 26) -> FakeSheet:
        s = FakeSheet(sheet_id=len(self.sheets) and max(x.sheet_id for x in self.sheets) + 1, title=title,
                      index=len(self.sheets), rows=rows, cols=cols)
        self.sheets.append(s)
        return s

    # -------------------------------------------------------------- helpers for tests
    def table(self, title: str) -> list[list[Any]]:
        """The sheet's values as rows (unformatted), trimmed like the API trims them."""
        return _grid(self.sheet(title), 0, None, 0, None, "UNFORMATTED_VALUE")

    def set(self, title: str, a1: str, value: Any) -> None:
        s = self.sheet(title)
        m = _CELL.match(a1)
        assert m
        s.cells[(int(m["row"]) - 1, col_index(m["col"]))] = value


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class ApiFailure(Exception):
    def __init__(self, status: int, message: str, reason: str = "badRequest"):
        super().__init__(message)
        self.status = status
        self.reason = reason


def _grid(sheet: FakeSheet, r0: int, r1: int | None, c0: int, c1: int | None, render: str) -> list[list[Any]]:
    last_r = sheet.last_row() if r1 is None else min(r1, sheet.last_row())
    last_c = sheet.last_col() if c1 is None else min(c1, sheet.last_col())
    out: list[list[Any]] = []
    for r in range(r0, last_r + 1):
        row = []
        for c in range(c0, last_c + 1):
            v = sheet.cells.get((r, c))
            if isinstance(v, str) and v.startswith("="):
                v = v if render == "FORMULA" else ""
            elif render == "FORMATTED_VALUE" and v is not None and not isinstance(v, str):
                v = ("TRUE" if v else "FALSE") if isinstance(v, bool) else (
                    str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
            row.append("" if v is None else v)
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


class FakeSheetsApi:
    """The fake service. ``with FakeSheetsApi() as api: api.url`` is the base URL to give cobro
    (``COBRO_SHEETS_API_URL``)."""

    def __init__(self) -> None:
        self.books: dict[str, FakeSpreadsheet] = {}
        self.calls: list[tuple[str, str, str]] = []  # (method, path, "read"|"write")
        self._fail: list[tuple[int, str | None]] = []  # (status, only for this kind or None)
        self._before: dict[int, Callable[[FakeSheetsApi], None]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -------------------------------------------------------------- control
    def __enter__(self) -> FakeSheetsApi:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def create(self, title: str, sheets: list[str] | None = None, key: str | None = None) -> FakeSpreadsheet:
        key = key or f"fake{next(self._ids):04d}" + "x" * 36
        book = FakeSpreadsheet(key=key, title=title)
        for name in sheets or ["Sheet1"]:
            book.add_sheet(name)
        self.books[key] = book
        return book

    def fail_next(self, status: int, times: int = 1, kind: str | None = None) -> None:
        """Answer the next ``times`` calls (of ``kind`` "read"/"write", or any) with ``status``."""
        self._fail.extend([(status, kind)] * times)

    def before_call(self, n: int, action: Callable[[FakeSheetsApi], None]) -> None:
        """Run ``action(api)`` just before answering the ``n``-th call from now (1 = the next)."""
        self._before[len(self.calls) + n] = action

    def counts(self) -> dict[str, int]:
        return {"read": sum(1 for c in self.calls if c[2] == "read"),
                "write": sum(1 for c in self.calls if c[2] == "write")}

    def reset_counts(self) -> None:
        self.calls.clear()

    # -------------------------------------------------------------- HTTP
    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self._lock:
            response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        path = unquote(request.path)
        kind = "read" if request.method == "GET" else "write"
        self.calls.append((request.method, path, kind))
        action = self._before.pop(len(self.calls), None)
        if action is not None:
            action(self)
        for i, (status, only) in enumerate(self._fail):
            if only in (None, kind):
                del self._fail[i]
                return _error(status, "injected failure", "rateLimitExceeded" if status == 429 else "backendError")
        try:
            body = request.get_json(silent=True) or {}
            return _json(self._route(request.method, path, request.args, body))
        except ApiFailure as e:
            return _error(e.status, str(e), e.reason)
        except KeyError as e:
            return _error(404, f"not found: {e}", "notFound")

    def _route(self, method: str, path: str, args: Any, body: dict[str, Any]) -> Any:
        m = re.match(r"^/drive/v3/files/([^/]+)/permissions$", path)
        if m and method == "POST":
            book = self.books[m[1]]
            book.permissions.append(body)
            return {"kind": "drive#permission", "id": str(len(book.permissions)), **body}
        if path in ("/v4/spreadsheets", "/v4/spreadsheets/") and method == "POST":
            props = body.get("properties", {})
            titles = [s["properties"]["title"] for s in body.get("sheets", [])] or ["Sheet1"]
            book = self.create(props.get("title", "Untitled"), titles)
            book.locale = props.get("locale", book.locale)
            book.time_zone = props.get("timeZone", book.time_zone)
            return _metadata(book)
        m = re.match(r"^/v4/spreadsheets/([^/:]+)(.*)$", path)
        if not m:
            raise ApiFailure(404, f"no such route {path}", "notFound")
        book = self.books.get(m[1])
        if book is None:
            raise ApiFailure(404, f"Requested entity was not found: {m[1]}", "notFound")
        rest = m[2]
        if rest == "" and method == "GET":
            return _metadata(book)
        if rest == ":batchUpdate" and method == "POST":
            return {"spreadsheetId": book.key, "replies": [self._request(book, r) for r in body.get("requests", [])]}
        if rest == "/values:batchGet" and method == "GET":
            render = args.get("valueRenderOption", "FORMATTED_VALUE")
            return {"spreadsheetId": book.key,
                    "valueRanges": [self._get(book, r, render) for r in args.getlist("ranges")]}
        if rest == "/values:batchUpdate" and method == "POST":
            opt = body.get("valueInputOption", "RAW")
            results = [self._put(book, d["range"], d.get("values", []), opt) for d in body.get("data", [])]
            return {"spreadsheetId": book.key, "totalUpdatedCells": sum(r["updatedCells"] for r in results),
                    "responses": results}
        if rest == "/values:batchClear" and method == "POST":
            for r in body.get("ranges", []):
                self._clear(book, r)
            return {"spreadsheetId": book.key, "clearedRanges": body.get("ranges", [])}
        m2 = re.match(r"^/values/(.+?)(:append|:clear)?$", rest)
        if m2:
            rng, op = m2[1], m2[2]
            if op is None and method == "GET":
                return self._get(book, rng, args.get("valueRenderOption", "FORMATTED_VALUE"))
            if op is None and method == "PUT":
                return self._put(book, rng, body.get("values", []), args.get("valueInputOption", "RAW"))
            if op == ":append" and method == "POST":
                return self._append(book, rng, body.get("values", []), args.get("valueInputOption", "RAW"))
            if op == ":clear" and method == "POST":
                self._clear(book, rng)
                return {"spreadsheetId": book.key, "clearedRange": rng}
        raise ApiFailure(404, f"no such route {method} {path}", "notFound")

    # -------------------------------------------------------------- ranges
    def _resolve(self, book: FakeSpreadsheet, a1: str) -> tuple[FakeSheet, int, int | None, int, int | None]:
        if a1 in book.named:
            sid, r0, r1, c0, c1 = book.named[a1]
            return book.by_id(sid), r0 or 0, None if r1 is None else r1 - 1, c0 or 0, None if c1 is None else c1 - 1
        if a1.startswith("'") and a1.endswith("'") and "!" not in a1:
            a1 = a1 + "!"
        m = _A1.match(a1)
        if not m:
            raise ApiFailure(400, f"Unable to parse range: {a1}")
        title = m["sheet"]
        rng = m["range"] or ""
        if title is None:  # a bare name: a sheet title, else the first sheet's range
            try:
                return book.sheet(a1), 0, None, 0, None
            except KeyError:
                title = book.sheets[0].title
        elif title.startswith("'"):
            title = title[1:-1].replace("''", "'")
        try:
            sheet = book.sheet(title)
        except KeyError:
            raise ApiFailure(400, f"Unable to parse range: {a1}") from None
        if not rng:
            return sheet, 0, None, 0, None
        start, _, end = rng.partition(":")
        s, e = _CELL.match(start), _CELL.match(end or start)
        if not s or not e:
            raise ApiFailure(400, f"Unable to parse range: {a1}")
        r0 = int(s["row"]) - 1 if s["row"] else 0
        c0 = col_index(s["col"]) if s["col"] else 0
        r1 = int(e["row"]) - 1 if e["row"] else None
        c1 = col_index(e["col"]) if e["col"] else None
        return sheet, r0, r1, c0, c1

    def _get(self, book: FakeSpreadsheet, a1: str, render: str) -> dict[str, Any]:
        sheet, r0, r1, c0, c1 = self._resolve(book, a1)
        values = _grid(sheet, r0, r1, c0, c1, render)
        last_c = c1 if c1 is not None else max(sheet.cols - 1, c0)
        end = f"{col_letters(last_c)}{(r1 if r1 is not None else sheet.rows - 1) + 1}"
        out: dict[str, Any] = {"range": f"'{sheet.title}'!{col_letters(c0)}{r0 + 1}:{end}", "majorDimension": "ROWS"}
        if values:
            out["values"] = values
        return out

    def _put(self, book: FakeSpreadsheet, a1: str, values: list[list[Any]], opt: str) -> dict[str, Any]:
        sheet, r0, _, c0, _ = self._resolve(book, a1)
        n = 0
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                if v is None:
                    continue  # the API leaves a cell alone for null
                sheet.cells[(r0 + i, c0 + j)] = _input(v, opt)
                if sheet.cells[(r0 + i, c0 + j)] == "":
                    del sheet.cells[(r0 + i, c0 + j)]
                n += 1
        sheet.rows = max(sheet.rows, r0 + len(values))
        return {"spreadsheetId": book.key, "updatedRange": a1, "updatedRows": len(values), "updatedCells": n}

    def _append(self, book: FakeSpreadsheet, a1: str, values: list[list[Any]], opt: str) -> dict[str, Any]:
        sheet, r0, _, c0, _ = self._resolve(book, a1)
        last = max((r for (r, c) in sheet.cells if c >= c0), default=r0 - 1)
        start = max(last + 1, r0)
        res = self._put(book, f"'{sheet.title}'!{col_letters(c0)}{start + 1}", values, opt)
        return {"spreadsheetId": book.key, "tableRange": a1, "updates": res}

    def _clear(self, book: FakeSpreadsheet, a1: str) -> None:
        sheet, r0, r1, c0, c1 = self._resolve(book, a1)
        for (r, c) in list(sheet.cells):
            if r >= r0 and (r1 is None or r <= r1) and c >= c0 and (c1 is None or c <= c1):
                del sheet.cells[(r, c)]

    # -------------------------------------------------------------- batchUpdate requests
    def _request(self, book: FakeSpreadsheet, req: dict[str, Any]) -> dict[str, Any]:
        (name, spec), = req.items()
        if name == "addSheet":
            props = spec.get("properties", {})
            grid = props.get("gridProperties", {})
            if any(s.title == props.get("title") for s in book.sheets):
                raise ApiFailure(400, f"A sheet with the name \"{props.get('title')}\" already exists.")
            s = book.add_sheet(props.get("title", f"Sheet{len(book.sheets) + 1}"), grid.get("rowCount", 1000),
                               grid.get("columnCount", 26))
            s.frozen_rows = grid.get("frozenRowCount", 0)
            s.hidden = bool(props.get("hidden", False))
            return {"addSheet": {"properties": _sheet_props(s)}}
        if name == "deleteSheet":
            book.sheets.remove(book.by_id(spec["sheetId"]))
            return {}
        if name == "updateSheetProperties":
            props = spec.get("properties", {})
            s = book.by_id(props.get("sheetId", 0))
            if "title" in props:
                s.title = props["title"]
            if "hidden" in props:
                s.hidden = bool(props["hidden"])
            grid = props.get("gridProperties", {})
            s.frozen_rows = grid.get("frozenRowCount", s.frozen_rows)
            s.rows = grid.get("rowCount", s.rows)
            s.cols = grid.get("columnCount", s.cols)
            return {}
        if name in ("addNamedRange", "updateNamedRange"):
            nr = spec["namedRange"]
            r = nr["range"]
            book.named[nr["name"]] = (r.get("sheetId", 0), r.get("startRowIndex"), r.get("endRowIndex"),
                                      r.get("startColumnIndex"), r.get("endColumnIndex"))
            return {"addNamedRange": {"namedRange": nr}} if name == "addNamedRange" else {}
        if name == "deleteNamedRange":
            book.named = {k: v for k, v in book.named.items() if k != spec.get("namedRangeId")}
            return {}
        if name == "appendDimension":
            s = book.by_id(spec["sheetId"])
            if spec.get("dimension") == "ROWS":
                s.rows += spec.get("length", 0)
            else:
                s.cols += spec.get("length", 0)
            return {}
        if name == "updateSpreadsheetProperties":
            props = spec.get("properties", {})
            book.title = props.get("title", book.title)
            book.locale = props.get("locale", book.locale)
            book.time_zone = props.get("timeZone", book.time_zone)
            return {}
        if name in ("setDataValidation", "repeatCell", "addConditionalFormatRule", "autoResizeDimensions",
                    "updateDimensionProperties", "updateBorders", "mergeCells", "addBanding",
                    "insertDimension", "updateCells"):
            book.requests.append(req)
            return {}
        raise ApiFailure(400, f"Invalid requests[0]: unknown request {name}")


def _input(v: Any, opt: str) -> Any:
    if opt == "USER_ENTERED" and isinstance(v, str):
        t = v.strip()
        if t.startswith("="):
            return t
        if t.startswith("'"):
            return t[1:]
        if _NUMBER.match(t.replace(",", "")) and t.replace(",", "") == t:
            return float(t) if any(ch in t for ch in ".eE") else int(t)
        if t.upper() in ("TRUE", "FALSE"):
            return t.upper() == "TRUE"
    if isinstance(v, float) and v.is_integer():
        return int(v) if abs(v) < 2**53 else v
    return v


def _sheet_props(s: FakeSheet) -> dict[str, Any]:
    return {"sheetId": s.sheet_id, "title": s.title, "index": s.index, "sheetType": "GRID", "hidden": s.hidden,
            "gridProperties": {"rowCount": s.rows, "columnCount": s.cols, "frozenRowCount": s.frozen_rows}}


def _metadata(book: FakeSpreadsheet) -> dict[str, Any]:
    return {"spreadsheetId": book.key,
            "properties": {"title": book.title, "locale": book.locale, "timeZone": book.time_zone},
            "sheets": [{"properties": _sheet_props(s)} for s in book.sheets],
            "namedRanges": [{"namedRangeId": name, "name": name,
                             "range": {k: v for k, v in zip(("sheetId", "startRowIndex", "endRowIndex",
                                                             "startColumnIndex", "endColumnIndex"), rng, strict=True)
                                       if v is not None}}
                            for name, rng in book.named.items()],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.key}/edit"}


def _json(obj: Any) -> Response:
    return Response(json.dumps(obj), status=200, mimetype="application/json")


def _error(status: int, message: str, reason: str) -> Response:
    statuses = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                503: "UNAVAILABLE"}
    body = {"error": {"code": status, "message": message, "status": statuses.get(status, "UNKNOWN"),
                      "errors": [{"message": message, "domain": "global", "reason": reason}]}}
    return Response(json.dumps(body), status=status, mimetype="application/json")
