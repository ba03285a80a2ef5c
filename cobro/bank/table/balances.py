"""Balances of a statement table: what the preamble and footer state, what the running balance says, and the
checks that opening + movements = closing (``_running_fit``: is a column the running balance of the amounts)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from ... import money
from ...schema import normalize_header
from .._common import balance_warning, fmt, iban_valid
from ..base import AccountBalances, StatementLine
from .cells import _Base, _Column, _numbery, _split_currency, _text


class _Balances(_Base):
    """Stated balances (preamble and footer) and the running balance: opening, closing and their checks."""

    # -------------------------------------------------------------- preamble and footer

    def _preamble(self, idx: list[int]) -> None:
        self.stated_account = ""
        self.stated_opening: tuple[str, int] | None = None
        self.stated_closing: tuple[str, int] | None = None
        for i in idx:
            row = [_text(c) for c in self.rows[i]]
            for j, cell in enumerate(row):
                if not cell:
                    continue
                label, _, inline = cell.partition(":")
                n = normalize_header(label)
                value = inline.strip() or next((x for x in row[j + 1:] if x), "")
                if not self.stated_account and (n in ("iban", "cuenta", "numerodecuenta", "ncuenta", "account",
                                                      "accountnumber", "konto", "kontonummer", "compte",
                                                      "numerocuenta", "cuentaiban")):
                    if re.search(r"\d{4}", value):
                        self.stated_account = re.sub(r"\s", "", value) if iban_valid(value) or re.fullmatch(
                            r"[A-Z]{2}\d{2}[\dA-Z ]+", value) else value
                kind = self._balance_label(n)
                if kind and value and _numbery(value):
                    if kind == "opening" and self.stated_opening is None:
                        self.stated_opening = (value, self.lines[i])
                    elif kind == "closing" and self.stated_closing is None:
                        self.stated_closing = (value, self.lines[i])
            if not self.stated_account:
                for cell in row:
                    m = re.search(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,4})?\b", cell)
                    if m and iban_valid(m[0]):
                        self.stated_account = m[0].replace(" ", "")

    @staticmethod
    def _balance_label(n: str) -> str | None:
        if any(k in n for k in ("saldoinicial", "saldoanterior", "openingbalance", "balanceatstart", "startbalance",
                                "anfangssaldo", "soldeinitial", "soldedebut", "saldoapertura", "beginningbalance",
                                "previousbalance", "alterkontostand", "soldeprecedent")):
            return "opening"
        if any(k in n for k in ("saldofinal", "closingbalance", "balanceatend", "endbalance", "endsaldo",
                                "soldefinal", "soldefin", "saldoalcierre", "saldocierre", "neuerkontostand",
                                "soldenouveau")):
            return "closing"
        return None


    # -------------------------------------------------------------- balances

    def _balance_checks(self, all_lines: list[StatementLine], kept: list[tuple[int, int | None, str]],
                        balance_col: _Column | None, row_pos: list[int]) -> list[AccountBalances]:
        """Opening and closing balances from the running balance (``kept``: per row, what it moves the balance
        by and the balance after it) or the preamble/footer, and the warnings when they do not add up."""
        out = [all_lines[p] for p in row_pos]  # the (first) line of each row, in step with ``kept``
        currencies = {c for _, _, c in kept}
        account = out[0].account if len({ln.account for ln in all_lines}) == 1 else ""
        balances: list[AccountBalances] = []
        if len(currencies) != 1:
            return balances
        cur = currencies.pop()
        opening = closing = None
        if balance_col is not None:
            amounts = [a for a, _, _ in kept]
            bals = [b for _, b, _ in kept]
            direction = None
            if self._unsigned and len(kept) > 1:
                signed = _sign_from_balance(amounts, bals)
                if signed is not None:
                    amounts, direction = signed
                    for k, a in enumerate(amounts):
                        out[k] = all_lines[row_pos[k]] = dataclasses.replace(out[k], amount=a)
                    edge = out[0] if direction == "asc" else out[-1]
                    self.warnings.append(
                        f"column {balance_col.label()}: the amounts carry no sign, so debits and credits were told "
                        f"apart by the running balance; the sign of {self.unit} {edge.source_line} could not be "
                        "checked that way and was read as a credit")
            if direction is None and len(kept) == 1 and bals[0] is not None:
                direction = "asc"  # one row: its balance is the balance after it
            if direction is None:
                direction = _running_fit(amounts, bals, tolerant=True)
            if direction is not None:
                self._report_breaks(out, amounts, bals, direction, cur)
                if direction == "asc":
                    first_b, last_b = bals[0], bals[-1]
                    opening = None if first_b is None else first_b - amounts[0]
                    closing = last_b
                else:
                    opening = None if bals[-1] is None else bals[-1] - amounts[-1]
                    closing = bals[0]
            else:
                self.warnings.append(f"column {balance_col.label()}: the balances do not follow from the amounts "
                                     "in either order; they were not used")
        stated_o = self._stated(self.stated_opening, cur)
        stated_c = self._stated(self.stated_closing, cur)
        if stated_o is not None or stated_c is not None:
            opening = stated_o if stated_o is not None else opening
            closing = stated_c if stated_c is not None else closing
        if opening is None and closing is None:
            return balances
        dates = [ln.date for ln in all_lines]
        bal = AccountBalances(account=account, currency=cur, opening=opening, closing=closing,
                              opening_date=min(dates), closing_date=max(dates))
        balances.append(bal)
        w = balance_warning(bal, sum(ln.amount for ln in all_lines), "the statement")
        if w:
            self.warnings.append(w)
        return balances

    def _stated(self, found: tuple[str, int] | None, cur: str) -> int | None:
        if found is None:
            return None
        text, line = found
        t, _ = _split_currency(text)
        try:
            return money.parse_money(t, cur, money.detect_decimal_comma([t]) if money.detect_decimal_comma([t])
                                     is not None else self.decimal_hint)
        except money.MoneyError:
            self.warnings.append(f"{self.unit} {line}: the stated balance {text!r} could not be read")
            return None

    def _report_breaks(self, out: list[StatementLine], amounts: list[int], bals: list[int | None], direction: str,
                       cur: str) -> None:
        breaks: list[int] = []
        for k in range(1, len(amounts)):
            if direction == "asc":
                prev, now, amt, at = bals[k - 1], bals[k], amounts[k], k
            else:
                prev, now, amt, at = bals[k], bals[k - 1], amounts[k - 1], k - 1
            if prev is None or now is None:
                continue
            if prev + amt != now:
                breaks.append(at)
        for at in breaks[:5]:
            b = bals[at]
            self.warnings.append(f"{self.unit} {out[at].source_line}: the running balance "
                                 f"{fmt(b, cur) if b is not None else ''} does not follow from the previous balance "
                                 "and this amount; a movement may be missing or wrong")
        if len(breaks) > 5:
            self.warnings.append(f"… and {len(breaks) - 5} more rows whose running balance does not follow")



def _balance_steps(amounts: list[int | None], bals: list[int | None]
                   ) -> Iterator[tuple[int | None, int | None, int, int]]:
    """Adjacent rows whose running balances are both known: (amount before, amount, balance before, balance)."""
    for k in range(1, len(amounts)):
        b0, b1 = bals[k - 1], bals[k]
        if b0 is not None and b1 is not None:
            yield amounts[k - 1], amounts[k], b0, b1


def _running_fit(amounts: list[int | None], bals: list[int | None], tolerant: bool = False) -> str | None:
    """``asc`` if balance[i] = balance[i-1] + amount[i] (oldest first), ``desc`` if the rows go newest first,
    None when the column is not a running balance of the amounts (80 % of the steps must agree)."""
    asc = desc = steps = 0
    for a0, a1, b0, b1 in _balance_steps(amounts, bals):
        steps += 1
        if a1 is not None and b0 + a1 == b1:
            asc += 1
        if a0 is not None and b1 + a0 == b0:
            desc += 1
    if steps == 0:
        return None
    need = 0.8 * steps if not tolerant else 0.5 * steps
    if asc >= desc and asc >= need and asc > 0:
        return "asc"
    if desc > asc and desc >= need:
        return "desc"
    return None


def _abs_fit(amounts: list[int | None], bals: list[int | None]) -> bool:
    """True when unsigned amounts equal the balance's steps (in 80 % of the steps, either order)."""
    if any(a is not None and a < 0 for a in amounts):
        return False
    asc = desc = steps = 0
    for a0, a1, b0, b1 in _balance_steps(amounts, bals):
        steps += 1
        asc += a1 is not None and abs(b1 - b0) == a1
        desc += a0 is not None and abs(b0 - b1) == a0
    return steps > 0 and max(asc, desc) >= 0.8 * steps and any(
        b1 is not None and b0 is not None and b1 < b0 for b0, b1 in zip(bals, bals[1:], strict=False))


def _sign_from_balance(amounts: list[int], bals: list[int | None]) -> tuple[list[int], str] | None:
    """Unsigned amounts signed by the running balance's steps (banks that export ``Importe`` without sign)."""
    best: tuple[int, list[int], str] | None = None
    for direction in ("asc", "desc"):
        signed = list(amounts)
        hits = 0
        for k in range(len(amounts)):
            if direction == "asc" and k > 0 and bals[k] is not None and bals[k - 1] is not None:
                delta = bals[k] - bals[k - 1]  # type: ignore[operator]
            elif direction == "desc" and k < len(amounts) - 1 and bals[k] is not None and bals[k + 1] is not None:
                delta = bals[k] - bals[k + 1]  # type: ignore[operator]
            else:
                continue
            if abs(delta) == amounts[k]:
                signed[k] = delta
                hits += 1
        if best is None or hits > best[0]:
            best = (hits, signed, direction)
    if best is None or best[0] < 0.8 * (len(amounts) - 1) or not any(a < 0 for a in best[1]):
        return None
    return best[1], best[2]
