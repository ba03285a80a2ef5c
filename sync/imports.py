"""Import ERP exports (CSV or XLSX) into the ledger: upsert by id, all or nothing.

The rows of the file are validated *together with* the ledger they land in, by the same
``parse_ledger`` that reads the workbook, so an invoice may refer to a customer imported in
the same run, and a duplicate id inside the file is caught. Problems in imported rows name
the file, its line and its header; if there is any, nothing is written.

The ledger is reached only through the ``LedgerStore`` protocol (``load``/``commit``): the .xlsx file, a
Google Sheet or the tables a spreadsheet host posted. A CSV file is read as a stream of records, a chunk at a
time, so a million rows take seconds and memory in proportion to the columns cobro keeps. Bytes that are not
text as the file says — a NUL byte, an unterminated quote, a field longer than a spreadsheet cell, a file mixing
UTF-8 and Latin-1 lines — are refused with the line, never stored as mojibake ("PeÃ±a").
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook

from cobro import money
from cobro.bulk import gc_paused
from cobro.errors import InputError
from cobro.ledger import Ledger, LedgerError, Problem, match_headers, parse_ledger
from cobro.schema import CUSTOMERS, INVOICES, PAYMENTS, Sheet, find_sheet

from .store import Changes, LedgerStore
from .xlsx_store import HEADER_SCAN_ROWS, raw_from_rows

IMPORTABLE: dict[str, Sheet] = {"customers": CUSTOMERS, "invoices": INVOICES, "payments": PAYMENTS}

MAX_FIELD = 32_767
"""The longest value imported: what one spreadsheet cell holds (Excel and Google Sheets alike)."""

CHUNK_ROWS = 50_000  # records typed at a time: bounds the per-row lists while reading


class ImportFileError(InputError, ValueError):
    """A file that cannot be read as an export at all."""


# ------------------------------------------------------------------ bytes -> text, refusing what is not text

_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def _line_at(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def _valid(data: bytes, encoding: str, start: int = 0) -> int | None:
    """None when ``data[start:]`` decodes as ``encoding``, else the offset of the first bad byte (a chunk at a
    time: no text copy of the whole file is made)."""
    dec = codecs.getincrementaldecoder(encoding)()
    step = 1 << 20
    for at in range(start, len(data), step):
        try:
            dec.decode(data[at:at + step], final=at + step >= len(data))
        except UnicodeDecodeError as e:
            return at + e.start
    return None


def detect_encoding(data: bytes, filename: str = "the file") -> str:
    """The codec a CSV export is written in, or ``ImportFileError`` naming the line that says otherwise.

    A BOM decides (UTF-8, UTF-16, UTF-32); UTF-16 without one is recognised by its zero bytes. Else the file is
    UTF-8 if all of it decodes as UTF-8, and Windows-1252 (Latin-1) if none of it looks like UTF-8; a file with
    both kinds of line — what appending a Latin-1 export to a UTF-8 one gives — is refused with a line of each.
    """
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[:4096]
    if sample.count(0) > len(sample) // 4:  # UTF-16 without a BOM: every other byte of ASCII text is zero
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        return "utf-16-le" if odd > even else "utf-16-be"
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ImportFileError(f"{filename}, line {_line_at(data, nul)}: a NUL byte (binary data, not text); "
                              "export the file again as CSV text")
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    bad = _valid(data, "utf-8", bom)
    if bad is None:
        return "utf-8-sig" if bom else "utf-8"
    first_utf8 = _first_utf8_sequence(data, bom)
    if bom or first_utf8 is not None:
        where = bom and 1 or _line_at(data, first_utf8.start())  # type: ignore[union-attr]
        said = "starts with a UTF-8 mark" if bom else f"line {where} is UTF-8"
        raise ImportFileError(
            f"{filename}: the file mixes encodings — {said} but line {_line_at(data, bad)} is not (Latin-1 or "
            "Windows-1252?); nothing was imported. Save the whole file again as UTF-8 (or as one encoding)")
    return "cp1252" if _valid(data, "cp1252") is None else "latin-1"


def _first_utf8_sequence(data: bytes, start: int) -> re.Match[bytes] | None:
    """The first UTF-8 multibyte sequence from ``start``, skipping all-ASCII blocks at C speed (a regex over a
    whole 50 MB export would take seconds)."""
    block = 1 << 16
    for at in range(start, len(data), block):
        if data[at:at + block].isascii():
            continue
        m = _UTF8_MULTIBYTE.search(data, at, min(len(data), at + block + 3))
        if m is not None:
            return m
    return None


def decode_text(data: bytes) -> str:
    """The whole text of a small export (see ``detect_encoding``)."""
    return data.decode(detect_encoding(data))


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:30])
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in (";", ",", "\t", "|")}
        return max(counts, key=lambda d: counts[d])


def _reader(data: bytes, filename: str) -> tuple[Any, str]:
    encoding = detect_encoding(data, filename)
    head = data[:65536].decode(encoding, errors="ignore")
    if encoding.startswith(("utf-16", "utf-32")):
        if "\x00" in data.decode(encoding, errors="replace"):
            raise ImportFileError(f"{filename}: a NUL character (binary data, not text); export the file again")
    if not head.strip():
        raise ImportFileError(f"{filename} is empty")
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    return csv.reader(stream, delimiter=sniff_delimiter(head), strict=True), encoding


def _chunks(data: bytes, filename: str, size: int) -> Iterator[list[list[str]]]:
    """The CSV records of ``data`` in lists of ``size``, read at C speed; malformed quoting, NUL characters and
    oversized fields are ``ImportFileError`` naming the line (found by reading again, record by record)."""
    reader, _ = _reader(data, filename)
    while True:
        try:
            chunk = list(itertools.islice(reader, size))
        except (csv.Error, UnicodeDecodeError):
            _locate_error(data, filename)
            raise  # pragma: no cover - _locate_error always raises
        if not chunk:
            return
        if max(map(len, itertools.chain.from_iterable(chunk)), default=0) > MAX_FIELD:
            _locate_error(data, filename)
        yield chunk


def _locate_error(data: bytes, filename: str) -> None:
    """Read ``data`` again record by record and raise ``ImportFileError`` for the first bad one, by line."""
    reader, encoding = _reader(data, filename)
    done = 0  # the last line of the last whole record
    while True:
        try:
            row = next(reader)
        except StopIteration:
            raise ImportFileError(f"{filename}: not valid CSV") from None
        except csv.Error as e:
            text = str(e)
            if "unexpected end of data" in text:
                raise ImportFileError(f"{filename}, line {done + 1}: a quoted value opened here is never closed "
                                      "(a missing \" before the end of the file)") from None
            if "field larger than field limit" in text:
                raise ImportFileError(f"{filename}, line {done + 1}: a value longer than {csv.field_size_limit():,} "
                                      f"characters (a cell holds at most {MAX_FIELD:,})") from None
            raise ImportFileError(f"{filename}, line {reader.line_num}: not valid CSV ({text}); check the quotes "
                                  "on that line") from None
        except UnicodeDecodeError:  # detect_encoding read it all already; kept for a file changed under us
            raise ImportFileError(f"{filename}, after line {done}: bytes that are not {encoding}") from None
        if row and max(map(len, row)) > MAX_FIELD:
            col = next(i for i, v in enumerate(row) if len(v) > MAX_FIELD)
            raise ImportFileError(f"{filename}, line {done + 1}, column {col + 1}: a value of "
                                  f"{len(row[col]):,} characters (a cell holds at most {MAX_FIELD:,})")
        done = reader.line_num


def read_rows(data: bytes, filename: str) -> tuple[list[list[object]], int]:
    """Rows of cell values and the 1-based line/row number of the first one (a whole small file)."""
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
    return [row for chunk in _chunks(data, filename, CHUNK_ROWS) for row in chunk], 1


def read_table(spec: Sheet, data: bytes, filename: str) -> tuple[pd.DataFrame, list[object]]:
    """The raw table (canonical columns + ``_row``, the record's number) of an export and its header row.

    A CSV is typed a chunk of records at a time with ``raw_from_rows`` (the reader of the workbook's own sheets),
    so only one chunk of Python rows exists at once.
    """
    if filename.lower().endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        rows, first = read_rows(data, filename)
        frame = raw_from_rows(spec, rows, first)
        header: list[object] = []
        if frame.attrs.get("header_row") is not None:
            header = list(rows[frame.attrs["header_row"] - first])
        return frame, header
    with gc_paused():
        return _read_csv_table(spec, data, filename)


def _read_csv_table(spec: Sheet, data: bytes, filename: str) -> tuple[pd.DataFrame, list[object]]:
    chunks = _chunks(data, filename, CHUNK_ROWS)
    head: list[list[object]] = next(chunks, [])  # type: ignore[arg-type]
    scan = head[:HEADER_SCAN_ROWS + 1]
    first_frame = raw_from_rows(spec, scan, 1)
    if first_frame.attrs.get("header_row") is None:
        return first_frame, []
    header = scan[first_frame.attrs["header_row"] - 1]
    frames = [first_frame]
    if len(head) > len(scan):
        frames.append(_chunk_frame(spec, header, head[len(scan):], len(scan)))
    count = len(head)
    del head
    for chunk in chunks:
        frames.append(_chunk_frame(spec, header, chunk, count))  # type: ignore[arg-type]
        count += len(chunk)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else first_frame
    frame.attrs["header_row"] = first_frame.attrs["header_row"]
    return frame, header


def _chunk_frame(spec: Sheet, header: list[object], chunk: list[list[object]], before: int) -> pd.DataFrame:
    frame = raw_from_rows(spec, [header, *chunk], before)  # the header stands on row `before`: records follow
    return frame.drop(columns=[c for c in frame.columns if c not in set(match_headers(spec, header).values())
                               | {"_row"}])


@dataclass
class ImportReport:
    added: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Any] = field(default_factory=list)  # cobro.interest.TermsWarning: terms over the legal maximum

    def to_json(self, locale: str = "en") -> dict[str, object]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected, "ignored_columns": self.ignored_columns,
                "problems": [p.as_dict(locale) for p in self.problems],
                "warnings": [w.as_dict(locale) for w in self.warnings]}


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


def _ledger_raw(led: Ledger, spec: Sheet) -> pd.DataFrame:
    """A typed table of the ledger back as the raw values ``parse_ledger`` reads (amounts as exact ``Decimal``
    in their currency, blanks as None), so imported rows are validated together with what is there."""
    df = led.frame(spec.key)
    n = len(df)
    out: dict[str, list[object]] = {}
    curs = df["currency"].tolist() if "currency" in df.columns else [led.settings.base_currency] * n
    for c in spec.columns:
        if c.key not in df.columns:
            continue
        vals = df[c.key].tolist()
        if c.type == "money":
            out[c.key] = [None if v is None or v is pd.NA or v != v else money.to_decimal(int(v), cur)
                          for v, cur in zip(vals, curs, strict=True)]
        elif c.type in ("date", "datetime"):
            out[c.key] = [None if v is None or v is pd.NaT or v != v else v for v in vals]
        elif c.type == "int":
            out[c.key] = [None if v is None or v is pd.NA else int(v) for v in vals]
        else:
            out[c.key] = [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v
                          for v in vals]
    out["_row"] = df["_row"].astype("int64").tolist() if "_row" in df.columns else list(range(2, n + 2))
    frame = pd.DataFrame(out, dtype=object)
    frame["_row"] = frame["_row"].astype("int64")
    return frame


def _id_text(values: list[object]) -> list[str]:
    """Ids as text, as the sheet shows them (``42.0`` read from a number cell is ``42``)."""
    return ["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip())
            for v in values]


@dataclass
class _Origin:
    """Where the imported rows of one file came from: their tags are ``first_tag, first_tag - 1, …``."""

    filename: str
    first_tag: int
    lines: np.ndarray
    headers: dict[str, str]

    def find(self, tag: int) -> tuple[str, int, dict[str, str]] | None:
        k = self.first_tag - tag
        return (self.filename, int(self.lines[k]), self.headers) if 0 <= k < len(self.lines) else None


def import_files(store: LedgerStore, files: Mapping[str, tuple[str, bytes]], dry_run: bool = False) -> ImportReport:
    """Upsert ``files`` ({"customers"|"invoices"|"payments": (filename, bytes)}) into the store's ledger.

    Raises ``LedgerError`` (with every problem, located in the files) and writes nothing when any row is bad;
    ``ImportFileError`` for a file that is not an export at all. Uses only ``load`` and ``commit`` of the store.
    """
    with gc_paused():
        return _import(store, files, dry_run)


def _import(store: LedgerStore, files: Mapping[str, tuple[str, bytes]], dry_run: bool) -> ImportReport:
    led = store.load()
    locale = str(getattr(store, "locale", None) or led.settings.locale)
    report = ImportReport()
    tables = {spec.key: _ledger_raw(led, spec) for spec in IMPORTABLE.values()}
    origins: dict[str, list[_Origin]] = {}
    touched: dict[str, list[tuple[np.ndarray, np.ndarray, list[str]]]] = {}  # (tags, sheet row or -1, columns)
    tag = -1
    for kind in ("customers", "invoices", "payments"):
        if kind not in files:
            continue
        spec = IMPORTABLE[kind]
        filename, data = files[kind]
        incoming, header = read_table(spec, data, filename)
        if "_row" not in incoming or incoming.attrs.get("header_row") is None:
            raise ImportFileError(
                f"{filename}: no header row with {spec.title('en')} columns found "
                f"(expected headers such as {', '.join(c.en for c in spec.columns[:4])} "
                f"or {', '.join(c.es for c in spec.columns[:4])})")
        mapping = match_headers(spec, header)
        headers = {key: str(header[i]) for i, key in mapping.items()}
        report.ignored_columns[kind] = [str(h) for i, h in enumerate(header)
                                        if i not in mapping and h not in (None, "")]
        idk = _id_key(spec)
        n = len(incoming)
        cols = [c for c in incoming.columns if c != "_row"]
        current = tables[spec.key]
        for col in cols:
            if col not in current.columns:
                current[col] = pd.Series([None] * len(current), dtype=object)
        ids = _id_text(incoming[idk].tolist()) if idk in incoming.columns else [""] * n
        if spec is PAYMENTS:
            rec_cols = [incoming[k].tolist() if k in incoming.columns else [None] * n
                        for k in ("date", "customer_id", "invoice_id", "amount", "reference")]
            for i in range(n):
                if not ids[i]:
                    basis = "|".join(str(col[i]) for col in rec_cols)
                    ids[i] = "P-" + hashlib.sha1(basis.encode()).hexdigest()[:10].upper()
            incoming[idk] = pd.Series(ids, dtype=object, index=incoming.index)
        tags = np.arange(tag, tag - n, -1, dtype=np.int64)
        origins.setdefault(spec.key, []).append(_Origin(filename, tag, incoming["_row"].to_numpy(), headers))
        tag -= n
        existing: dict[str, int] = {}
        for pos, key in enumerate(_id_text(current[idk].tolist()) if idk in current.columns else []):
            if key:
                existing.setdefault(key, pos)
        id_series = pd.Series(ids, dtype=object)
        repeat = (id_series.duplicated(keep="first") & (id_series != "")).to_numpy()
        pos_arr = np.array([existing.get(k, -1) if k else -1 for k in ids], dtype=np.int64)
        pos_arr[repeat] = -1  # a repeat inside the file is appended: validation flags it
        matched = pos_arr >= 0
        sheet_rows = np.full(n, -1, dtype=np.int64)
        sheet_rows[matched] = current["_row"].to_numpy()[pos_arr[matched]]
        new_rows = ~matched
        if spec is PAYMENTS:  # a payment already there is never imported twice, nor changed
            report.unchanged[kind] = report.unchanged.get(kind, 0) + int(matched.sum())
            touched.setdefault(spec.key, []).append((tags[matched], sheet_rows[matched], []))
        elif matched.any():
            take = np.flatnonzero(matched)
            at = pos_arr[take]
            for c in cols:
                column = current[c].to_numpy(dtype=object, copy=True)
                column[at] = incoming[c].to_numpy(dtype=object)[take]
                current[c] = column
            rows = current["_row"].to_numpy(copy=True)
            rows[at] = tags[take]
            current["_row"] = rows
            touched.setdefault(spec.key, []).append((tags[take], sheet_rows[take], cols))
        if new_rows.any():
            take = np.flatnonzero(new_rows)
            add = pd.DataFrame({c: (incoming[c].to_numpy(dtype=object)[take] if c in incoming.columns
                                    else np.full(len(take), None, dtype=object))
                                for c in current.columns if c != "_row"}, dtype=object)
            add["_row"] = tags[take]
            current = pd.concat([current, add], ignore_index=True)
            touched.setdefault(spec.key, []).append((tags[take], np.full(len(take), -1, dtype=np.int64), cols))
        tables[spec.key] = current

    settings = {"base_currency": led.settings.base_currency, "locale": led.settings.locale}
    try:
        after = parse_ledger(tables, settings, {}, locale=locale)
    except LedgerError as e:
        problems = sorted((_relocate(p, origins) for p in e.problems), key=lambda p: (p.sheet, p.row))
        for p in problems:
            if p.row > 0 and p.sheet.endswith((".csv", ".xlsx", ".txt", ".xls", ".xlsm", ".tsv", ".ods")):
                kind = next((k for k, (fn, _) in files.items() if fn == p.sheet), "?")
                report.rejected[kind] = report.rejected.get(kind, 0) + 1
        report.problems = problems
        raise LedgerError(problems, locale) from None

    report.warnings = _terms_warnings(after.replace(settings=led.settings), origins)
    changes = _changes(led, after, touched, report)
    if not dry_run and not changes.is_empty():
        store.commit(changes)
    return report


def _changes(before: Ledger, after: Ledger, touched: Mapping[str, list[tuple[np.ndarray, np.ndarray, list[str]]]],
             report: ImportReport) -> Changes:
    """What the import writes: new rows appended, changed rows updated (only the columns the file has), rows the
    file repeats unchanged left alone."""
    changes = Changes()
    for spec in (CUSTOMERS, INVOICES, PAYMENTS):
        kind = spec.key.lower()
        if spec.key not in touched:
            continue
        typed = after.frame(spec.key)
        by_tag = pd.Series(np.arange(len(typed)), index=typed["_row"].to_numpy())
        prior = before.frame(spec.key)
        prior_at = pd.Series(np.arange(len(prior)), index=prior["_row"].to_numpy()) if len(prior) else None
        upd: list[pd.DataFrame] = []
        app: list[pd.DataFrame] = []
        for tags, sheet_rows, cols in touched[spec.key]:
            if not cols or not len(tags):
                continue
            idx = by_tag.reindex(tags).dropna().astype(np.int64).to_numpy()
            if not len(idx):
                continue
            rows = typed.iloc[idx]
            new = sheet_rows < 0
            if new.all():
                app.append(rows)
                report.added[kind] = report.added.get(kind, 0) + len(rows)
                continue
            rows = rows.copy()
            write_cols = sorted(set(cols) | ({"currency"} if "currency" in typed.columns else set()))
            same = np.zeros(len(rows), dtype=bool)
            if prior_at is not None:
                where = prior_at.reindex(sheet_rows).to_numpy()
                has = ~np.isnan(where.astype(float))
                if has.any():
                    old = prior.iloc[where[has].astype(np.int64)]
                    eq = np.ones(int(has.sum()), dtype=bool)
                    for c in cols:
                        a = old[c].tolist()
                        b = rows[c].to_numpy(dtype=object)[has].tolist()
                        eq &= np.fromiter((_norm(x) == _norm(y) for x, y in zip(a, b, strict=True)), dtype=bool,
                                          count=len(a))
                    same[np.flatnonzero(has)[eq]] = True
            report.unchanged[kind] = report.unchanged.get(kind, 0) + int(same.sum())
            out = rows.loc[~same, write_cols].copy()
            out["_row"] = sheet_rows[~same]
            if len(out):
                upd.append(out)
                report.updated[kind] = report.updated.get(kind, 0) + len(out)
        if upd:
            changes.update[spec.key] = pd.concat(upd, ignore_index=True)
        if app:
            frame = pd.concat(app, ignore_index=True)
            if spec is PAYMENTS:
                frame["source"] = frame["source"].replace("manual", "import")
            changes.append[spec.key] = frame
    return changes


def _terms_warnings(after: Ledger, origins: Mapping[str, list[_Origin]]) -> list[Any]:
    """Imported invoices whose payment term exceeds the legal maximum of the company's country (issue 13),
    located in their file (name, line, the file's header)."""
    from dataclasses import replace as _replace

    from cobro.interest import terms_warnings

    out = []
    for w in terms_warnings(after):
        if w.row >= 0:
            continue
        hit = next((h for o in origins.get("Invoices", ()) if (h := o.find(w.row)) is not None), None)
        if hit is not None:
            filename, line, headers = hit
            out.append(_replace(w, sheet=filename, row=line, column=headers.get("due_date", "due_date")))
    return out


def _relocate(p: Problem, origins: Mapping[str, list[_Origin]]) -> Problem:
    """A problem in an imported row names the file, its line and the file's own header."""
    def find(tag: int) -> tuple[str, int, Mapping[str, str]] | None:
        for o in origins.get(p.sheet, ()):
            hit = o.find(tag)
            if hit is not None:
                return hit
        return None

    src = find(p.row) if p.row < 0 else None
    if src is None:
        return p
    filename, line, headers = src
    detail = dict(p.detail)
    other = detail.get("other")
    if isinstance(other, int) and other < 0:
        hit = find(other)
        if hit is not None:
            detail["other"] = hit[1]
    return Problem(filename, line, headers.get(p.column, p.column), p.value, p.code, detail)


def read_import_file(path: str | Path) -> tuple[str, bytes]:
    """``(name, bytes)`` of an export named on the command line; a FIFO or a device is refused, never waited on."""
    p = Path(path)
    if not p.exists():
        raise ImportFileError(f"{p}: no such file")
    if not p.is_file():
        raise ImportFileError(f"{p} is not a regular file (a folder, a pipe or a device); give an exported CSV or "
                              ".xlsx file")
    try:
        return p.name, p.read_bytes()
    except OSError as e:
        raise ImportFileError(f"cannot read {p}: {e.strerror or e}") from None


