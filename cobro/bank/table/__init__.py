"""Statements as tables: bank CSV exports and the rows pasted into the Statement sheet.

The table is found, not assumed: the movements are the block of rows that carry a date and an
amount; the header (if any) is the text row right above it; what comes before and after (a bank's
preamble and footer) is read only for the account number and stated opening/closing balances.
Columns are recognised by their headers in Spanish, English, German or French, and, where a header
is missing or unknown, by their content: a date column, an amount column, a balance column that
equals the running sum, and text columns. Whole columns settle the ambiguous cases: the decimal
mark (``cobro.money.detect_decimal_comma``), day-first or month-first dates
(``cobro.ledger.detect_day_first``, the order of the rows, then the currency and language of the export),
and unsigned amounts (through the running balance). The running balance also judges the amount column:
a reading it contradicts is replaced by one it agrees with, or the table is refused naming the columns.

Layout (one ``_Table`` pass, split along its seams):
- ``cells``: what a cell holds (date, number, text), the column record and the shared state (``_Base``);
- ``headers``: the role a header names, in Spanish, English, German and French;
- ``values``: whole columns as money, dates, currencies and signs (``_Values``);
- ``roles``: which column is which, and the running balance as the judge of the amount column (``_Roles``);
- ``balances``: stated and running balances, opening/closing and their checks (``_Balances``);
- here: finding the block and its header, and turning rows into statement lines (``_Table``, ``read_rows``).
"""


from __future__ import annotations

import dataclasses
from collections import Counter

from ... import money
from ...schema import normalize_header
from .._common import assign_ids, fmt, iban_valid, join_text
from ..base import Statement, StatementLine
from .balances import _Balances
from .cells import (
    Cell,
    _blank,
    _Column,
    _datey,
    _numbery,
    _split_currency,
    _text,
    _width,
    is_data_row,
)
from .headers import header_role
from .roles import _Roles

__all__ = ["header_role", "is_data_row", "read_rows"]


class _Table(_Roles, _Balances):
    """One pass over a block of rows: the block and its header (here), roles (``roles``), values (``values``),
    the rows as statement lines (here) and balances (``balances``)."""

    # -------------------------------------------------------------- block and header

    def read(self) -> Statement:
        rows = self.rows
        data_idx = self._data_rows()
        header_idx: int | None = None
        if data_idx:
            start, end = data_idx[0], data_idx[-1]
            # rows next to the movements that carry a date where the movements do belong to the table, even
            # when their amount cannot be read: they must fail loudly, not vanish into the preamble or footer
            date_cols = {j for i in data_idx for j, c in enumerate(rows[i]) if _datey(c)}

            def dated(i: int) -> bool:
                return any(j < len(rows[i]) and _datey(rows[i][j]) for j in date_cols)

            while start > 0 and dated(start - 1):
                start -= 1
            while end + 1 < len(rows) and dated(end + 1):
                end += 1
            header_idx = self._header_above(start)
        else:
            # no row has both a date and an amount: find a header to say precisely what is wrong
            header_idx = next((i for i, r in enumerate(rows) if self._header_score(r) >= 2), None)
            if header_idx is None:
                any_date = any(_datey(c) for r in rows for c in r)
                if not any(not all(_blank(c) for c in r) for r in rows):
                    raise self.error("there are no rows to read")
                if any_date:
                    raise self.error("no amount column found: no row has both a date and an amount "
                                     "(expected a column such as Importe, Amount, Cargo/Abono or Debe/Haber)")
                raise self.error("no movements found: no row has a date (expected a column such as Fecha or "
                                 "Date with values like 31/01/2024)")
            start = header_idx + 1
            end = max((i for i in range(start, len(rows)) if not all(_blank(c) for c in rows[i])), default=-1)
            if end < start:
                raise self.error("the table has a header but no rows", self.lines[header_idx])
        if self.unit == "line":
            # delimited text: every row of the table has the same number of fields (the narrower on a tie)
            widths = Counter(len(rows[i]) for i in data_idx) if data_idx else Counter([len(rows[start])])
            top = max(widths.values())
            width = min(w for w, n in widths.items() if n == top)
        else:
            # sheet rows: hosts trim trailing blank cells, so a row may be shorter than the table
            width = max(_width(rows[i]) for i in range(start, end + 1))
        if header_idx is not None:
            width = max(width, _width(rows[header_idx]))
        headers = [""] * width
        if header_idx is not None:
            for j, c in enumerate(rows[header_idx][:width]):
                headers[j] = _text(c)
        self._header_row = self.rows[header_idx] if header_idx is not None else None
        if header_idx is not None and data_idx:
            start = header_idx + 1  # every row under the header belongs to the table
        block = list(range(start, end + 1))
        for i in block:
            extra = [c for c in rows[i][width:] if not _blank(c)]
            if extra:
                raise self.error(f"this row has {len(rows[i])} columns where the table has {width}; is there a "
                                 "separator inside a text without quotes?", self.lines[i])
        outside = [i for i in range(len(rows)) if (i < start and i != header_idx) or i > end]
        self._preamble(outside)
        return self._parse(block, headers, width)

    def _data_rows(self, sample: int = 400) -> list[int]:
        """Indexes of rows that look like movements: the first and the last one, and a sample in between
        (enough to learn the table's width and date columns without classifying every row twice)."""
        rows = self.rows
        first = next((i for i, r in enumerate(rows) if is_data_row(r)), None)
        if first is None:
            return []
        last = next(i for i in range(len(rows) - 1, first - 1, -1) if is_data_row(rows[i]))
        head = range(first, min(last, first + sample) + 1)
        tail = range(max(head.stop, last - sample // 4), last + 1)
        return [i for i in (*head, *tail) if is_data_row(rows[i])]

    def _header_score(self, row: list[Cell]) -> int:
        return sum(1 for c in row if isinstance(c, str) and header_role(c) is not None)

    def _header_above(self, start: int) -> int | None:
        i = start - 1
        while i >= 0 and all(_blank(c) for c in self.rows[i]):
            i -= 1
        if i < 0:
            return None
        row = self.rows[i]
        cells = [c for c in row if not _blank(c)]
        if self._header_score(row) >= 2:
            return i
        if len(cells) >= 2 and all(isinstance(c, str) and not _datey(c) and not _numbery(c) for c in cells):
            return i
        return None


    # -------------------------------------------------------------- rows

    def _parse(self, block: list[int], headers: list[str], width: int) -> Statement:
        cols = self._roles(block, headers, width)

        def first(role: str) -> _Column | None:
            return next((c for c in cols if c.role == role), None)

        date_col = first("date")
        assert date_col is not None
        value_col = first("value_date")
        day_first = self._day_first([c for c in (date_col, value_col) if c is not None], block)
        dates = self._dates(date_col, block, day_first)
        values = self._dates(value_col, block, day_first) if value_col else [None] * len(block)
        lines = [self.lines[i] for i in block]

        def cells(c: _Column | None) -> list[Cell]:
            if c is None:
                return [None] * len(block)
            return [self.rows[i][c.index] if c.index < len(self.rows[i]) else None for i in block]

        amount_col, debit_col, credit_col = first("amount"), first("debit"), first("credit")
        balance_col = first("balance")
        # currencies per row
        currency_cols = [c for c in cols if c.role == "currency"]
        orig_amount_col, orig_cur_col = first("orig_amount"), first("orig_currency")
        line_cur_col = None
        if currency_cols:
            anchor = (amount_col or debit_col or credit_col)
            assert anchor is not None
            right = [c for c in currency_cols if c.index > anchor.index]
            if orig_amount_col is not None and orig_cur_col is None:
                orig_cur_col = currency_cols[0]
            else:
                line_cur_col = right[0] if right else currency_cols[-1]
        currencies: list[str] = []
        cur_cells = cells(line_cur_col)
        anchor_cells = cells(amount_col or debit_col or credit_col)
        for k, v in enumerate(cur_cells):
            code = None
            if not _blank(v):
                code = self._currency_code(_text(v), lines[k], line_cur_col)
            else:
                av = anchor_cells[k]
                if isinstance(av, str):
                    _, sym = _split_currency(av)
                    if sym:
                        code = self._currency_code(sym, lines[k], None)
            currencies.append(code or self.default_currency)
        amounts = self._amounts(block, lines, cols, currencies)
        balances_col: list[int | None] = [None] * len(block)
        if balance_col is not None:
            balances_col = self._money(cells(balance_col), currencies, balance_col, lines)
        # gross/fee/net: the fee of each row, and what the balance moves by (the net)
        fee_col, net_col = (first("fee"), first("net")) if self.gross_fee_net else (None, None)
        fees = self._money(cells(fee_col), currencies, fee_col, lines) if fee_col else [None] * len(block)
        nets = self._money(cells(net_col), currencies, net_col, lines) if net_col else [None] * len(block)
        row_fees: list[int] = []
        for k, a in enumerate(amounts):
            if a is None:
                row_fees.append(0)
            elif nets[k] is not None:
                row_fees.append(nets[k] - a)  # type: ignore[operator]
                if fees[k] is not None and a + fees[k] != nets[k]:  # type: ignore[operator]
                    self.warnings.append(f"{self.unit} {lines[k]}: gross {fmt(a, currencies[k])} and fee "
                                         f"{fmt(fees[k], currencies[k])} do not make the net "  # type: ignore[arg-type]
                                         f"{fmt(nets[k], currencies[k])}; the fee was taken as net - gross")  # type: ignore[arg-type]
            else:
                f = fees[k] or 0
                row_fees.append(-abs(f) if a >= 0 and f and not net_col else f)
        impact_col = first("impact")
        memo = [normalize_header(_text(v)) == "memo" for v in cells(impact_col)]
        if balance_col is not None and len(set(currencies)) == 1 and not self._unsigned:
            amounts = self._justify(cols, block, lines, dates, amounts, row_fees, balances_col, balance_col, memo)
        # text, names, references
        name_col, iban_col, account_col = first("name"), first("iban"), first("account")
        ref_cols = [c for c in cols if c.role == "reference"]
        text_cols = [c for c in cols if c.role in ("text", "name") or (c.role == "reference" and c is not
                                                                          (ref_cols[0] if ref_cols else None))]
        out: list[StatementLine] = []
        kept_balances: list[tuple[int, int | None, str]] = []  # (amount, balance, currency) per kept line
        row_pos: list[int] = []  # per kept row: where its (first) line is in ``out``
        memos = 0
        for k, i in enumerate(block):
            row = self.rows[i]
            if memo[k]:
                memos += 1  # PayPal "Memo" rows (authorisations, holds) move no money
                continue
            has_amount = amounts[k] is not None
            if dates[k] is None:
                if has_amount:
                    raise self.error(f"this row has an amount but no date in column {date_col.label()}", lines[k])
                piece = join_text(_text(row[c.index]) for c in text_cols if c.index < len(row))
                if piece and out:  # a description continued on the next row
                    prev = out[-1]
                    out[-1] = dataclasses.replace(prev, text=join_text([prev.text, piece]))
                continue
            if not has_amount:
                if balances_col[k] is None:  # a balance-only row (e.g. "Saldo anterior") needs no word
                    self.warnings.append(f"{self.unit} {lines[k]}: it has a date but no amount, so it was not read "
                                         "as a movement")
                continue
            pieces = [_text(row[c.index]) for c in text_cols if c.index < len(row)]
            if orig_amount_col is not None:
                ov = _text(row[orig_amount_col.index]) if orig_amount_col.index < len(row) else ""
                oc = _text(row[orig_cur_col.index]) if orig_cur_col and orig_cur_col.index < len(row) else ""
                if ov and _numbery(ov) and money.parse_decimal(_split_currency(ov)[0]) != 0:
                    pieces.append(f"orig. {ov} {oc}".strip())
            ref = ""
            if ref_cols:
                ref = _text(row[ref_cols[0].index]) if ref_cols[0].index < len(row) else ""
            name = _text(row[name_col.index]) if name_col and name_col.index < len(row) else ""
            iban = _text(row[iban_col.index]) if iban_col and iban_col.index < len(row) else ""
            account = (_text(row[account_col.index]) if account_col and account_col.index < len(row) else "") \
                or self.stated_account
            amount = amounts[k]
            assert amount is not None
            counterparty_iban = iban.replace(" ", "") if iban_valid(iban) else iban
            fee = row_fees[k]
            row_pos.append(len(out))
            if amount or not fee:
                out.append(StatementLine(
                    line_id="", account=account, date=dates[k], value_date=values[k], amount=amount,
                    currency=currencies[k], text=join_text(pieces), counterparty_name=name,
                    counterparty_iban=counterparty_iban, bank_reference=ref, source_line=lines[k]))
            if fee:
                # the processor's fee is a line of its own, as a bank's fee is: the payment keeps its gross
                assert fee_col is not None or net_col is not None
                label = fee_col.header if fee_col is not None and fee_col.header else "fee"
                out.append(StatementLine(
                    line_id="", account=account, date=dates[k], value_date=values[k], amount=fee,
                    currency=currencies[k], text=join_text([label, *pieces]), counterparty_name=name,
                    counterparty_iban=counterparty_iban, bank_reference=ref, source_line=lines[k], kind="fee"))
            kept_balances.append((amount + fee, balances_col[k], currencies[k]))
        if memos:
            assert impact_col is not None
            self.warnings.append(f"{memos} {'row' if memos == 1 else 'rows'} marked Memo in column "
                                 f"{impact_col.label()} move no money (authorisations, holds) and were not read as "
                                 "movements")
        if not out:
            raise self.error("the table has no movements")
        balances = self._balance_checks(out, kept_balances, balance_col, row_pos)
        return Statement(format=self.fmt_name, lines=assign_ids(out), balances=balances, warnings=self.warnings)


def read_rows(rows: list[list[Cell]], lines: list[int], *, fmt_name: str, default_currency: str = "EUR",
              unit: str = "line", decimal_hint: bool | None = None, source: str = "") -> Statement:
    """A statement from a table of cells (strings, numbers, dates). ``lines`` numbers each row for messages."""
    return _Table(rows, lines, fmt_name=fmt_name, default_currency=default_currency, unit=unit,
                  decimal_hint=decimal_hint, source=source).read()
