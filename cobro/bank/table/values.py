"""Values of a statement table's columns: amounts, dates, currencies and signs, each settled per column."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from ... import money
from ...ledger import detect_day_first, parse_date_text
from ...schema import normalize_header
from ..base import StatementError
from .cells import (
    _CREDIT_WORDS,
    _DEBIT_WORDS,
    _DOLLAR_CURRENCIES,
    _SYMBOLS,
    Cell,
    _Base,
    _blank,
    _cell_date,
    _Column,
    _split_currency,
    _text,
)
from .headers import _ENGLISH_HEADERS, _OTHER_HEADERS, header_role


class _Values(_Base):
    """Values of whole columns: money (decimal mark settled per column), dates (day- or month-first settled by the
    whole column, the order of the rows, and the currency and language of the export), currencies and signs."""

    # -------------------------------------------------------------- values

    def _money(self, cells: list[Cell], currencies: list[str], column: _Column | None,
               lines: list[int] | None) -> list[int | None]:
        texts: list[str | None] = []
        codes: list[str | None] = []
        for v in cells:
            if isinstance(v, str) and not _blank(v):
                t, code = _split_currency(v)
                texts.append(t)
                codes.append(code)
            else:
                texts.append(None)
                codes.append(None)
        decided = money.detect_decimal_comma([t for t in texts if t])
        if decided is not None:
            options: list[bool | None] = [decided]
        elif self.decimal_hint is not None:
            options = [self.decimal_hint, not self.decimal_hint]
        else:
            options = [None, True, False]
        last_error: StatementError | None = None
        for option in options:
            try:
                return self._money_with(cells, texts, codes, currencies, option, column, lines)
            except StatementError as e:
                last_error = last_error or e
        assert last_error is not None
        raise last_error

    def _money_with(self, cells: list[Cell], texts: list[str | None], codes: list[str | None],
                    currencies: list[str], decimal_comma: bool | None, column: _Column | None,
                    lines: list[int] | None) -> list[int | None]:
        out: list[int | None] = []
        for k, v in enumerate(cells):
            if _blank(v):
                out.append(None)
                continue
            cur = currencies[k]
            try:
                if isinstance(v, str):
                    out.append(money.parse_money(texts[k] or "", cur, decimal_comma))
                elif isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
                    out.append(money.parse_money(v, cur))
                else:
                    raise money.MoneyError(f"{v!r} is not an amount")
            except money.MoneyError as e:
                where = f"column {column.label()}: " if column else ""
                raise self.error(f"{where}{_text(v)!r} is not an amount ({e})",
                                 lines[k] if lines else None) from None
        return out

    def _dates(self, col: _Column, block: list[int], day_first: bool) -> list[dt.date | None]:
        out: list[dt.date | None] = []
        header_is_date = col.role in ("date", "value_date")
        for i in block:
            v = self.rows[i][col.index] if col.index < len(self.rows[i]) else None
            if _blank(v):
                out.append(None)
                continue
            d = _cell_date(v, day_first, header_is_date)
            if d is None:
                raise self.error(f"column {col.label()}: {_text(v)!r} is not a valid date (expected a date such as "
                                 f"{'31/01/2024' if day_first else '01/31/2024'} or 2024-01-31)", self.lines[i])
            out.append(d)
        return out

    def _day_first(self, date_cols: list[_Column], block: list[int]) -> bool:
        texts = [self.rows[i][c.index] for c in date_cols for i in block
                 if c.index < len(self.rows[i]) and isinstance(self.rows[i][c.index], str)]
        texts = [t.strip() for t in texts if t.strip()]
        decided = detect_day_first(texts)
        if decided is not None:
            return decided
        if not texts:
            return True
        main = date_cols[0]
        orders = {}
        for option in (True, False):
            seq = []
            for i in block:
                v = self.rows[i][main.index] if main.index < len(self.rows[i]) else None
                if isinstance(v, str) and v.strip():
                    parsed = parse_date_text(v, option)
                    if parsed is None:
                        seq = None
                        break
                    seq.append(parsed)
            orders[option] = seq is not None and (seq == sorted(seq) or seq == sorted(seq, reverse=True))
        if orders[True] != orders[False]:
            return orders[True]
        matters = any((m := re.match(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-]", t)) and m[1] != m[2] for t in texts)
        us = self._us_export(block)
        if matters:
            why = (f"month/day/year, as a US export ({us})" if us else "day/month/year")
            self.warnings.append(
                f"column {main.label()}: dates such as {texts[0]!r} could be day/month or month/day; they were read "
                f"as {why}")
        return not us

    def _us_export(self, block: list[int]) -> str:
        """Why the table reads as a US export (amounts in USD and English headers), or "" when it does not."""
        headers = [normalize_header(_text(c)) for c in self._header_row] if self._header_row is not None else []
        english = [h for h in headers if h in _ENGLISH_HEADERS]
        other = [h for h in headers if h in _OTHER_HEADERS]
        if not english or other:
            return ""
        codes: set[str] = set()
        for j, h in enumerate(headers):
            if header_role(h) == "currency":
                codes |= {_text(self.rows[i][j]).strip().upper() for i in block[:2000]
                          if j < len(self.rows[i]) and _text(self.rows[i][j]).strip()}
        if codes and codes != {"USD"}:
            return ""
        if not codes and self.default_currency != "USD":
            return ""
        return "USD amounts, English headers"

    def _currency_code(self, raw: str, line: int, col: _Column | None) -> str:
        s = raw.strip()
        if s in _SYMBOLS:
            return _SYMBOLS[s]
        if s == "$":
            return self.default_currency if self.default_currency in _DOLLAR_CURRENCIES else "USD"
        code = s.upper()
        if not money.is_known_currency(code):
            where = f"column {col.label()}: " if col else ""
            raise self.error(f"{where}{s!r} is not an ISO 4217 currency code (such as EUR, USD or MXN)", line)
        return code

    def _amounts(self, block: list[int], lines: list[int], cols: list[_Column],
                 currencies: list[str]) -> list[int | None]:
        def cells(c: _Column) -> list[Cell]:
            return [self.rows[i][c.index] if c.index < len(self.rows[i]) else None for i in block]

        amount_col = next((c for c in cols if c.role == "amount"), None)
        debit_col = next((c for c in cols if c.role == "debit"), None)
        credit_col = next((c for c in cols if c.role == "credit"), None)
        indicator_col = next((c for c in cols if c.role == "indicator"), None)
        out: list[int | None] = [None] * len(block)
        if amount_col is not None:
            out = self._money(cells(amount_col), currencies, amount_col, lines)
        for c, sign in ((debit_col, -1), (credit_col, 1)):
            if c is None:
                continue
            vals = self._money(cells(c), currencies, c, lines)
            for k, v in enumerate(vals):
                if v is not None:
                    out[k] = (out[k] or 0) + sign * abs(v)
        if indicator_col is not None and amount_col is not None:
            signs = self._indicator_signs(cells(indicator_col), lines, indicator_col)
            out = [None if v is None else (abs(v) * s if s else v) for v, s in zip(out, signs, strict=True)]
        self._unsigned = amount_col is not None and indicator_col is None and all(v is None or v >= 0 for v in out)
        return out

    def _indicator_signs(self, cells: list[Cell], lines: list[int], col: _Column) -> list[int]:
        debit, credit = _DEBIT_WORDS, _CREDIT_WORDS - {"c"}
        values = [normalize_header(_text(v)) or _text(v) for v in cells]
        letters = {v for v in values if v}
        out: list[int] = []
        for k, v in enumerate(values):
            if not v:
                out.append(0)
            elif v == "c":
                out.append(-1 if "a" in letters and "d" not in letters else 1)
            elif v in debit:
                out.append(-1)
            elif v in credit:
                out.append(1)
            else:
                raise self.error(f"column {col.label()}: {_text(cells[k])!r} is neither a debit (D, Debe, Cargo, "
                                 "Debit) nor a credit (H, Haber, Abono, Credit)", lines[k])
        return out
