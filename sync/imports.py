"""Import ERP exports (CSV or XLSX) into the ledger: upsert by id, all or nothing.

The rows of the file are validated *together with* the ledger they land in, by the same
``parse_ledger`` that reads the workbook, so an invoice may refer to a customer imported in
the same run, and a duplicate id inside the file is caught. Problems in imported rows name
the file, its line and its header; if there is any, nothing is written.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from cobro.errors import InputError
from cobro.ledger import LedgerError, Problem, match_headers, parse_ledger
from cobro.schema import CUSTOMERS, INVOICES, PAYMENTS, Sheet, find_sheet

from .store import Changes
from .xlsx_store import XlsxStore, raw_from_rows

IMPORTABLE: dict[str, Sheet] = {"customers": CUSTOMERS, "invoices": INVOICES, "payments": PAYMENTS}


class ImportFileError(InputError, ValueError):
    """A file that cannot be read as an export at all."""


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:30])
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in (";", ",", "\t", "|")}
        return max(counts, key=lambda d: counts[d])


def read_rows(data: bytes, filename: str) -> tuple[list[list[object]], int]:
    """Rows of cell values and the 1-based line/row number of the first one."""
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        try:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception as e:
            raise ImportFileError(f"{filename} is not a readable spreadsheet ({e})") from None
        sheet = wb.get_sheet_by_index(0)
        for title in wb.sheet_names:
            if find_sheet(title) is not None:
                sheet = wb.get_sheet_by_name(title)
                break
        start = sheet.start or (0, 0)
        return sheet.to_python(), start[0] + 1
    text = decode_text(data)
    if not text.strip():
        raise ImportFileError(f"{filename} is empty")
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text))
    return [list(r) for r in reader], 1


@dataclass
class ImportReport:
    added: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def to_json(self, locale: str = "en") -> dict[str, object]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected, "ignored_columns": self.ignored_columns,
                "problems": [p.as_dict(locale) for p in self.problems]}


def _id_key(spec: Sheet) -> str:
    return {"Customers": "customer_id", "Invoices": "invoice_id", "Payments": "payment_id"}[spec.key]


def _norm(v: object) -> object:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if not isinstance(v, (list, tuple)):
        try:
            if pd.isna(v):  # type: ignore[arg-type]
                return None
        except (TypeError, ValueError):
            pass
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, (list, tuple)):
        return tuple(v) or None
    if isinstance(v, str) and v == "":
        return None
    return v


def import_files(store: XlsxStore, files: Mapping[str, tuple[str, bytes]], dry_run: bool = False) -> ImportReport:
    """Upsert ``files`` ({"customers"|"invoices"|"payments": (filename, bytes)}) into the store's ledger.

    Raises ``LedgerError`` (with every problem, located in the files) and writes nothing when
    any row is bad.
    """
    raw = store.load_raw()
    report = ImportReport()
    tables = {k: v.copy() for k, v in raw.tables.items()}
    origin: dict[str, dict[int, tuple[str, int, dict[str, str]]]] = {}  # sheet -> tag -> (file, line, headers)
    touched: dict[str, dict[int, tuple[int | None, list[str]]]] = {}  # sheet -> tag -> (sheet row or None, cols)
    tag = -1
    for kind in ("customers", "invoices", "payments"):
        if kind not in files:
            continue
        spec = IMPORTABLE[kind]
        filename, data = files[kind]
        rows, first = read_rows(data, filename)
        incoming = raw_from_rows(spec, rows, first)
        if "_row" not in incoming or incoming.attrs.get("header_row") is None:
            raise ImportFileError(
                f"{filename}: no header row with {spec.title('en')} columns found "
                f"(expected headers such as {', '.join(c.en for c in spec.columns[:4])} "
                f"or {', '.join(c.es for c in spec.columns[:4])})")
        header_idx = incoming.attrs["header_row"] - first
        mapping = match_headers(spec, rows[header_idx])
        headers = {key: str(rows[header_idx][i]) for i, key in mapping.items()}
        report.ignored_columns[kind] = [str(h) for i, h in enumerate(rows[header_idx])
                                        if i not in mapping and h not in (None, "")]
        idk = _id_key(spec)
        current = tables.get(spec.key, pd.DataFrame({"_row": pd.Series([], dtype="int64")}))
        for col in incoming.columns:
            if col not in current.columns:
                current[col] = pd.Series([None] * len(current), dtype=object)
        existing_ids: dict[str, int] = {}
        if idk in current.columns:
            for pos, v in enumerate(current[idk].tolist()):
                key = "" if v is None else str(v).strip()
                if isinstance(v, float) and v.is_integer():
                    key = str(int(v))
                if key:
                    existing_ids.setdefault(key, pos)
        cols = [c for c in incoming.columns if c != "_row"]
        sheet_origin = origin.setdefault(spec.key, {})
        sheet_touched = touched.setdefault(spec.key, {})
        new_rows = []
        seen_in_file: set[str] = set()
        current = current.astype(object)
        for i in range(len(incoming)):
            line = int(incoming["_row"].iat[i])
            rec = {c: incoming[c].iat[i] for c in cols}
            rid = rec.get(idk)
            rid_s = "" if rid is None else str(rid).strip()
            if isinstance(rid, float) and rid.is_integer():
                rid_s = str(int(rid))
            if spec is PAYMENTS and not rid_s:
                basis = "|".join(str(rec.get(k)) for k in ("date", "customer_id", "invoice_id", "amount", "reference"))
                rec[idk] = rid_s = "P-" + hashlib.sha1(basis.encode()).hexdigest()[:10].upper()
            sheet_origin[tag] = (filename, line, headers)
            repeat = rid_s in seen_in_file
            if rid_s:
                seen_in_file.add(rid_s)
            if rid_s and rid_s in existing_ids and not repeat and spec is not PAYMENTS:
                pos = existing_ids[rid_s]
                sheet_row = int(current["_row"].iat[pos])
                for c in cols:
                    current.iat[pos, current.columns.get_loc(c)] = rec[c]
                current.iat[pos, current.columns.get_loc("_row")] = tag
                sheet_touched[tag] = (sheet_row, cols)
            elif rid_s and rid_s in existing_ids and not repeat:  # a payment already there: never imported twice
                sheet_touched[tag] = (int(current["_row"].iat[existing_ids[rid_s]]), [])
                report.unchanged[kind] = report.unchanged.get(kind, 0) + 1
            else:
                row = {c: None for c in current.columns}
                row.update(rec)
                row["_row"] = tag
                new_rows.append(row)
                sheet_touched[tag] = (None, cols)  # a repeat inside the file is appended: validation flags it
            tag -= 1
        if new_rows:
            current = pd.concat([current, pd.DataFrame(new_rows, columns=current.columns, dtype=object)],
                                ignore_index=True)
        tables[spec.key] = current

    try:
        before = parse_ledger(raw.tables, raw.settings, raw.settings_rows, locale=raw.locale)
    except LedgerError:
        before = None  # the workbook itself has problems; they are reported with the import's
    try:
        after = parse_ledger(tables, raw.settings, raw.settings_rows, locale=raw.locale)
    except LedgerError as e:
        problems = sorted((_relocate(p, origin) for p in e.problems), key=lambda p: (p.sheet, p.row))
        for p in problems:
            if p.row > 0 and p.sheet.endswith((".csv", ".xlsx", ".txt", ".xls", ".xlsm", ".tsv")):
                kind = next((k for k, (fn, _) in files.items() if fn == p.sheet), "?")
                report.rejected[kind] = report.rejected.get(kind, 0) + 1
        report.problems = problems
        raise LedgerError(problems, raw.locale) from None

    changes = Changes()
    for spec in (CUSTOMERS, INVOICES, PAYMENTS):
        kind = spec.key.lower()
        if spec.key not in touched:
            continue
        typed = after.frame(spec.key)
        prior = before.frame(spec.key).set_index("_row") if before is not None else None
        upd, app = [], []
        for tag_, (sheet_row, cols) in touched[spec.key].items():
            if not cols:
                continue
            rec = typed[typed["_row"] == tag_]
            if rec.empty:
                continue
            rec = rec.iloc[0]
            if sheet_row is None:
                app.append(rec)
                report.added[kind] = report.added.get(kind, 0) + 1
                continue
            write_cols = sorted(set(cols) | ({"currency"} if "currency" in typed.columns else set()))
            if prior is not None and sheet_row in prior.index:
                old = prior.loc[sheet_row]
                if all(_norm(old[c]) == _norm(rec[c]) for c in cols):
                    report.unchanged[kind] = report.unchanged.get(kind, 0) + 1
                    continue
            row = rec[write_cols].copy()
            row["_row"] = sheet_row
            upd.append(row)
            report.updated[kind] = report.updated.get(kind, 0) + 1
        if upd:
            changes.update[spec.key] = pd.DataFrame(upd).reset_index(drop=True)
        if app:
            frame = pd.DataFrame(app).reset_index(drop=True)
            if spec is PAYMENTS:
                frame["source"] = frame["source"].replace("manual", "import")
            changes.append[spec.key] = frame
    if not dry_run:
        store.commit(changes)
    return report


def _relocate(p: Problem, origin: Mapping[str, Mapping[int, tuple[str, int, Mapping[str, str]]]]) -> Problem:
    """A problem in an imported row names the file, its line and the file's own header."""
    src = origin.get(p.sheet, {}).get(p.row)
    if src is None:
        return p
    filename, line, headers = src
    detail = dict(p.detail)
    other = detail.get("other")
    if isinstance(other, int) and other < 0 and other in origin.get(p.sheet, {}):
        detail["other"] = origin[p.sheet][other][1]
    return Problem(filename, line, headers.get(p.column, p.column), p.value, p.code, detail)


def read_import_file(path: str | Path) -> tuple[str, bytes]:
    p = Path(path)
    if not p.exists():
        raise ImportFileError(f"{p}: no such file")
    return p.name, p.read_bytes()


