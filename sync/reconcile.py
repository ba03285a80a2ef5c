"""Bank reconciliation, the host side: read a statement, write proposals to Matches, apply accepted ones.

``propose`` reads the statement (a bank file, or the lines pasted in the Statement sheet), asks the pure
matcher (``cobro.matching``) for one proposal per line and writes them to the Matches sheet, **per statement**:
every row carries the id of the statement that proposed it (``statement_id``: the file name and a short hash of
its content), a new statement adds its own rows and never removes another's, and a decision a person took
(action accept/reject, or edited invoice ids) survives a new proposal of the same line. Rows stay until they
are cleared (``clear``: one statement, or all). ``apply`` turns every Matches row with action ``accept`` — of
every statement — into Payments rows (source ``statement``, statement_line set), re-validated against current
balances, all in one atomic write; re-running it adds nothing, because a line already in Payments is recognised
by its id. Returns and fee lines are never applied as payments.

Only the ``LedgerStore`` protocol is used (load, commit, describe, check_writable), so any store works.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import pandas as pd

from cobro import money
from cobro.bank import read_pasted
from cobro.bank.base import Statement, StatementError
from cobro.derive import derived_invoice_columns
from cobro.errors import UserError
from cobro.ledger import Ledger, LedgerError
from cobro.matching import MatchResult, payments_for_matches, propose_matches

from .bank_files import read_statement  # the host reader: it also opens spreadsheet exports
from .store import Changes, LedgerStore


@dataclass
class ReconcileResult:
    statement: Statement
    result: MatchResult
    kept_decisions: int = 0
    statement_id: str = ""
    other_rows: int = 0  # Matches rows of other statements, kept as they were

    def to_json(self) -> dict[str, Any]:
        props = self.result.proposals
        auto = [p for p in props if p.auto and p.status == "proposed"]
        rows = []
        for p in props:
            cur = p.line.currency
            rows.append({
                "statement_line": p.line.line_id, "date": p.line.date.isoformat(),
                "amount": money.format_decimal(p.line.amount, cur), "currency": cur, "text": p.line.text,
                "status": p.status, "customer_id": p.customer_id or None,
                "allocations": [{"invoice_id": i, "amount": money.format_decimal(a, cur)} for i, a in p.allocations],
                "advance": money.format_decimal(p.advance, cur) if p.advance else None,
                "fee": money.format_decimal(p.fee, cur) if p.fee else None,
                "confidence": round(p.confidence, 3), "reason": p.reason, "auto": p.auto,
                "kind": getattr(p.line, "kind", "payment") or "payment", "reverses": p.applied_as
                if p.status == "return" and p.applied_as else None,
                "alternatives": [{"invoice_ids": list(a.invoice_ids), "customer_id": a.customer_id,
                                  "confidence": round(a.confidence, 3), "reason": a.reason}
                                 for a in p.alternatives]})
        return {"format": self.statement.format, "lines": len(props),
                "proposed": sum(p.status == "proposed" for p in props), "auto_accepted": len(auto),
                "unmatched": sum(p.status == "unmatched" for p in props),
                "already_applied": sum(p.status == "applied" for p in props),
                "returns": sum(p.status == "return" for p in props),
                "statement": self.statement_id, "other_statements_rows": self.other_rows,
                "kept_decisions": self.kept_decisions, "warnings": list(self.statement.warnings),
                "proposals": rows}


@dataclass
class ApplyResult:
    payments: pd.DataFrame
    lines: int
    returns_not_applied: int = 0  # accepted rows of returns / fees: never payments; a person undoes the payment

    def to_json(self) -> dict[str, Any]:
        p = self.payments
        return {"applied_lines": self.lines, "payments_added": len(p), "returns_not_applied": self.returns_not_applied,
                "payments": [{"payment_id": r["payment_id"], "date": pd.Timestamp(r["date"]).date().isoformat(),
                              "customer_id": r["customer_id"], "invoice_id": r["invoice_id"] or None,
                              "amount": money.format_decimal(int(r["amount"]), r["currency"]),
                              "currency": r["currency"], "statement_line": r["statement_line"]}
                             for r in p.to_dict("records")]}


def statement_from_sheet(ledger: Ledger) -> Statement:
    """The lines pasted in the Statement sheet."""
    raw = ledger.statement
    if raw is None or raw.empty:
        raise StatementError("the Statement sheet is empty: paste the bank's lines there, or give a statement file")
    cols = [c for c in raw.columns if c != "_row"]
    rows = [[None if (isinstance(v, float) and v != v) else v for v in r] for r in raw[cols].itertuples(index=False)]
    first = int(raw["_row"].iloc[0]) if "_row" in raw.columns else 1
    return read_pasted(rows, ledger.settings.base_currency, first_row=first)


def statement_id(name: str, data: bytes) -> str:
    """The id a statement's Matches rows carry: its file name and a short hash of its content, so the same file
    read again is the same statement and another file with the same name is not."""
    return f"{PurePath(name).name}@{hashlib.sha256(data).hexdigest()[:8]}"


def _sheet_statement_id(stmt: Statement) -> str:
    basis = "\n".join(ln.line_id for ln in stmt.lines).encode("utf-8")
    return f"Statement@{hashlib.sha256(basis).hexdigest()[:8]}"


def _keep_decisions(new: pd.DataFrame, old: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """A person's accept/reject (with their invoice ids) survives a new proposal for the same line."""
    if old is None or old.empty or new.empty:
        return new, 0
    decided = old[old["action"].isin(["accept", "reject"])].drop_duplicates("statement_line", keep="last")
    decided = decided.set_index("statement_line")
    out = new.copy()
    kept = 0
    for i, line in enumerate(out["statement_line"].tolist()):
        if line in decided.index:
            d = decided.loc[line]
            out.at[out.index[i], "action"] = d["action"]
            out.at[out.index[i], "invoice_ids"] = d["invoice_ids"]
            if d["customer_id"]:
                out.at[out.index[i], "customer_id"] = d["customer_id"]
            kept += 1
    return out, kept


def _merge(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Matches after proposing ``new``: the rows of other statements as they were, then the new statement's rows
    (a line proposed again keeps its decision, wherever it was proposed before). Returns (frame, kept
    decisions, rows of other statements)."""
    new, kept = _keep_decisions(new, old)
    if old is None or old.empty:
        return new, kept, 0
    lines = set(new["statement_line"].tolist())
    others = old[~old["statement_line"].isin(lines)].drop(columns=["_row"], errors="ignore")
    if others.empty:
        return new, kept, 0
    merged = pd.concat([others, new], ignore_index=True)
    return merged, kept, len(others)


def propose(store: LedgerStore, statement: tuple[str, bytes] | None = None, as_of: dt.date | None = None,
            auto: bool = False) -> ReconcileResult:
    """Read the statement, write its Matches rows beside other statements' (nothing else changes)."""
    store.check_writable()
    ledger = store.load()
    if statement is not None:
        name, data = statement
        stmt = read_statement(data, name, default_currency=ledger.settings.base_currency)
        sid = statement_id(name, data)
    else:
        stmt = statement_from_sheet(ledger)
        sid = _sheet_statement_id(stmt)
    result = propose_matches(stmt.lines, ledger, as_of)
    frame = result.to_matches_frame(auto=auto, statement=sid)
    frame, kept, others = _merge(ledger.matches, frame)
    store.commit(Changes(replace={"Matches": frame}))
    return ReconcileResult(stmt, result, kept, sid, others)


def clear(store: LedgerStore, statement: str = "") -> int:
    """Remove the Matches rows of one statement (its id, or its file name), or of all statements when
    ``statement`` is blank; accepted rows not yet applied go with them. Returns the number of rows removed."""
    store.check_writable()
    ledger = store.load()
    m = ledger.matches
    if m is None or m.empty:
        return 0
    if statement:
        want = statement.strip()
        name = PurePath(want).name
        ids = m["statement"].astype(str) if "statement" in m.columns else pd.Series([""] * len(m), index=m.index)
        hit = (ids == want) | (ids == name) | ids.str.startswith(name + "@")
        if not hit.any():
            known = sorted({x for x in ids.tolist() if x})
            raise UserError(f"{store.describe()}: no Matches rows of statement {want!r}; the Matches sheet holds "
                            + (", ".join(known) if known else "no statement ids"),
                            source="Matches", column="statement")
        keep = m[~hit]
    else:
        hit = pd.Series([True] * len(m), index=m.index)
        keep = m.iloc[0:0]
    store.commit(Changes(replace={"Matches": keep.drop(columns=["_row"], errors="ignore")}))
    return int(hit.sum())


def apply(store: LedgerStore, as_of: dt.date | None = None) -> ApplyResult:
    """Accepted Matches rows (of every statement) become Payments rows, once; all or nothing."""
    store.check_writable()
    ledger = store.load()
    m = ledger.matches
    skipped = 0
    if m is not None and len(m) and "kind" in m.columns:
        skipped = int(((m["action"] == "accept") & m["kind"].isin(["return", "fee"])).sum())
    payments, problems = payments_for_matches(m, ledger, as_of)
    if problems:
        raise LedgerError(problems, ledger.settings.locale)
    if payments.empty:
        return ApplyResult(payments, 0, skipped)
    merged = ledger.replace(payments=pd.concat([ledger.payments, payments], ignore_index=True))
    day = as_of or dt.date.today()
    upd = derived_invoice_columns(merged, day)
    store.commit(Changes(append={"Payments": payments},
                         update={"Invoices": upd[["_row", "currency", "paid", "balance", "days_overdue"]]}))
    return ApplyResult(payments, payments["statement_line"].nunique(), skipped)
