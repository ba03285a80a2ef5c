"""Column roles of a statement table: headers say, content confirms, and the running balance justifies the choice
of the amount column (or the table is refused, naming the columns)."""

from __future__ import annotations

import datetime as dt

from ..base import StatementError
from .balances import _abs_fit, _running_fit
from .cells import _EXPECTS, Cell, _blank, _Column, _datey, _indicator_word, _letters, _numbery
from .headers import header_role
from .values import _Values


class _Roles(_Values):
    """Which column is which: headers first, then the content, then the running balance as the judge."""

    # -------------------------------------------------------------- roles

    def _roles(self, block: list[int], headers: list[str], width: int) -> list[_Column]:
        cols = [_Column(j, headers[j], header_role(headers[j]) if headers[j] else None) for j in range(width)]
        # what each column holds, judged on its non-blank cells (an even sample of at most 1000 of them)
        filled_cells: list[list[Cell]] = []
        for j in range(width):
            cells = [self.rows[i][j] for i in block if j < len(self.rows[i]) and not _blank(self.rows[i][j])]
            step = max(1, len(cells) // 1000)
            filled_cells.append(cells[::step])

        def share(j: int, pred) -> float:
            cells = filled_cells[j]
            return sum(1 for v in cells if pred(v)) / len(cells) if cells else 0.0

        def filled(j: int) -> int:
            return len(filled_cells[j])

        wrong = [c for c in cols if c.role in _EXPECTS and filled(c.index) and share(c.index, _EXPECTS[c.role]) < 0.5]
        if wrong:
            # rows pasted under another table's headers: the headers cannot be trusted, the content can
            self.warnings.append(f"column {wrong[0].label()} does not hold what its header says, so every column was "
                                 "recognised by its content instead of its header")
            for c in cols:
                c.role, c.header = None, ""
        for c in cols:
            j = c.index
            if filled(j) == 0:
                c.role = c.role if c.role in ("debit", "credit") else None
                continue
            if c.role == "valor":
                c.role = "value_date" if share(j, _datey) >= 0.8 else "amount" if share(j, _numbery) >= 0.8 else "text"
            elif c.role == "indicator" and share(j, _numbery) >= 0.8:
                c.role = "amount"  # "Cargo/Abono" holding signed amounts
            elif c.role == "text" and share(j, _letters) == 0 and share(j, _numbery) >= 0.8:
                c.role = "reference"  # e.g. "Operación" holding numbers
            elif c.role is None:
                if share(j, _datey) >= 0.8:
                    c.role = "other_date"
                elif share(j, _numbery) >= 0.8:
                    c.role = "other_number"
                elif share(j, _indicator_word) == 1.0:
                    c.role = "indicator"  # D/H, C/A, Debe/Haber… without a header
                elif share(j, _letters) > 0:
                    c.role = "text"
        by_role = lambda r: [c for c in cols if c.role == r]  # noqa: E731
        self._gross_fee_net(cols, by_role)
        dates = by_role("date")
        if not dates:
            other = by_role("other_date")
            if not other:
                raise self.error("no date column found (expected a column such as Fecha or Date)",
                                 self.lines[block[0]])
            other[0].role = "date"
            if len(other) > 1 and not by_role("value_date"):
                other[1].role = "value_date"
        elif len(dates) > 1:
            for extra in dates[1:]:
                extra.role = "value_date" if not by_role("value_date") else "other_date"
        money_roles = by_role("amount") + by_role("debit") + by_role("credit")
        numbers = by_role("other_number")
        if not money_roles:
            self._infer_money(cols, numbers, block)
        elif not by_role("balance") and numbers:
            self._infer_balance(cols, numbers, block)
        if not (by_role("amount") or by_role("debit") or by_role("credit")):
            raise self.error("no amount column found (expected a column such as Importe, Amount, Cargo/Abono or "
                             "Debe/Haber)", self.lines[block[0]])
        amounts = by_role("amount")
        for extra in amounts[1:]:
            self.warnings.append(f"column {extra.label()} was not read as the amount: the table has another "
                                 f"amount column ({amounts[0].label()})")
            extra.role = "other_number"
        return cols

    def _gross_fee_net(self, cols: list[_Column], by_role) -> None:  # type: ignore[no-untyped-def]
        """A gross/fee/net export: the gross is the movement's amount, the fee a line of its own, the net what the
        running balance moves by. Without a gross column the net is the amount; a fee column alone is not read."""
        gross, net, fee = by_role("gross"), by_role("net"), by_role("fee")
        for c in cols:
            if c.role == "ignore":
                c.role = "ignored"
            elif c.role == "fee" and not (gross or net):
                c.role = "ignored"
        if gross:
            if by_role("amount"):
                for c in gross:
                    c.role = "ignored"
                return
            gross[0].role = "amount"
            self.gross_fee_net = True
        elif net and not by_role("amount"):
            net[0].role = "amount"
            net = net[1:]
            for c in fee:
                c.role = "ignored"

    def _justify(self, cols: list[_Column], block: list[int], lines: list[int], dates: list[dt.date | None],
                 amounts: list[int | None], row_fees: list[int], bals: list[int | None], balance_col: _Column,
                 memo: list[bool]) -> list[int | None]:
        """The amount column must agree with the running balance: when it does not, the other readings are tried
        (the opposite sign, another number column); when none agrees, the table is refused, naming the columns.
        Returns the amounts to use (``row_fees`` is cleared when another column replaces a gross)."""
        keep = [k for k in range(len(block)) if dates[k] is not None and amounts[k] is not None and not memo[k]]
        b = [bals[k] for k in keep]
        if sum(1 for x, y in zip(b, b[1:], strict=False) if x is not None and y is not None) < 2:
            return amounts  # too few balances to judge

        def fits(vals: list[int | None], fees: bool = True) -> bool:
            moved = [None if vals[k] is None else vals[k] + (row_fees[k] if fees else 0) for k in keep]  # type: ignore[operator]
            return _running_fit(moved, b, tolerant=True) is not None

        if fits(amounts):
            return amounts
        amount_cols = [c for c in cols if c.role in ("amount", "debit", "credit")]
        what = " and ".join(c.label() for c in amount_cols)
        plural = "s" if len(amount_cols) > 1 else ""
        negated = [None if v is None else -v for v in amounts]
        if fits(negated):
            self.warnings.append(f"column {balance_col.label()}: the running balance follows from the amounts in "
                                 f"column{plural} {what} only with the opposite sign, so their signs were turned "
                                 "(money in is positive)")
            return negated
        tried: list[str] = []
        for c in cols:
            if c.role not in ("other_number", "ignored", "net", "fee") or c is balance_col:
                continue
            vals = self._column_minor(c.index, block)
            if vals is None or any(vals[k] is None for k in keep):
                continue
            tried.append(c.label())
            for sign in (1, -1):
                cand = [None if v is None else sign * v for v in vals]
                if fits(cand, fees=False):
                    self.warnings.append(
                        f"column {c.label()} was read as the amount{' with the opposite sign' if sign < 0 else ''}, "
                        f"not column{plural} {what}: the running balance in column {balance_col.label()} follows "
                        "from it and not from them")
                    for ac in amount_cols:
                        ac.role = "other_number"
                    c.role = "amount"
                    row_fees[:] = [0] * len(row_fees)
                    return [cand[k] if amounts[k] is not None else None for k in range(len(block))]
        others = f", nor from column{'s' if len(tried) > 1 else ''} {', '.join(tried)}" if tried else ""
        raise self.error(f"the running balance in column {balance_col.label()} does not follow from the amounts in "
                         f"column{plural} {what} (in either order, with either sign){others}: cobro cannot tell which "
                         "column holds the movements' amounts and does not guess. Check that the file is the bank's "
                         "export as it came, or paste only the date, text, amount and balance columns",
                         lines[keep[0]])

    def _column_minor(self, j: int, block: list[int], currency: str = "") -> list[int | None] | None:
        """A numeric column as minor units (None for blanks), or None when some value is not a number."""
        cells = [self.rows[i][j] if j < len(self.rows[i]) else None for i in block]
        try:
            return self._money(cells, [currency or self.default_currency] * len(cells), None, None)
        except StatementError:
            return None

    def _infer_money(self, cols: list[_Column], numbers: list[_Column], block: list[int]) -> None:
        if not numbers:
            return
        parsed = {c.index: self._column_minor(c.index, block) for c in numbers}
        usable = [c for c in numbers if parsed[c.index] is not None]
        # two complementary sparse columns: debit and credit
        for a, b in zip(usable, usable[1:], strict=False):
            va, vb = parsed[a.index], parsed[b.index]
            assert va is not None and vb is not None
            one = sum(1 for x, y in zip(va, vb, strict=True) if (x is None) != (y is None))
            both = sum(1 for x, y in zip(va, vb, strict=True) if x and y)
            # both must move money: a column of blanks and zeros (a "Sales Tax" beside a gross) is not a debit
            if (one >= 0.9 * len(block) and not both and any(x for x in va) and any(y for y in vb)):
                negative_b = any(y is not None and y < 0 for y in vb) and not any(x is not None and x < 0 for x in va)
                a.role, b.role = ("credit", "debit") if negative_b else ("debit", "credit")
                rest = [c for c in usable if c not in (a, b)]
                if rest:
                    self._infer_balance(cols, rest, block)
                return
        for a in usable:
            for b in usable:
                if a is b:
                    continue
                va, vb = parsed[a.index], parsed[b.index]
                assert va is not None and vb is not None
                if _running_fit(va, vb) is not None or _abs_fit(va, vb):
                    a.role, b.role = "amount", "balance"
                    return
        if not usable:
            numbers[0].role = "amount"  # its values cannot be read as money: parsing it will say which and where
            return
        # no running balance to tell them apart: amounts have signs or cents, codes (branch, document) do not
        def looks_like_money(c: _Column) -> int:
            v = [x for x in parsed[c.index] or [] if x is not None]
            return int(any(x < 0 for x in v)) + int(any(x % 100 for x in v))

        usable.sort(key=lambda c: (-looks_like_money(c), c.index))
        usable[0].role = "amount"
        for c in usable[1:]:
            self.warnings.append(f"column {c.label()} holds numbers that were not read (neither the amount nor a "
                                 "running balance)")

    def _infer_balance(self, cols: list[_Column], numbers: list[_Column], block: list[int]) -> None:
        amount_cols = [c for c in cols if c.role in ("amount", "debit", "credit")]
        if not amount_cols:
            return
        base: list[int] = [0] * len(block)
        for c in amount_cols:
            v = self._column_minor(c.index, block)
            if v is None:
                return
            for k, x in enumerate(v):
                if x is not None:
                    base[k] += abs(x) if c.role == "credit" else -abs(x) if c.role == "debit" else x
        for c in numbers:
            vb = self._column_minor(c.index, block)
            if vb is not None and (_running_fit(list(base), vb) is not None or _abs_fit(list(base), vb)):
                c.role = "balance"
                return
