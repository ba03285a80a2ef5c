"""The derived columns cobro writes back into the Invoices sheet (pure)."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd

from .balances import invoice_balances
from .ledger import Ledger
from .reminders import reminder_levels


def last_contacts(ledger: Ledger) -> pd.Series:
    """Per invoice id: the date of the latest contact about it (any channel, any direction)."""
    c = ledger.contacts
    if c.empty:
        return pd.Series([], dtype="datetime64[ns]")
    e = c[["invoice_ids", "timestamp"]].explode("invoice_ids").dropna(subset=["invoice_ids"])
    return e.groupby("invoice_ids")["timestamp"].max().dt.normalize()


def derived_invoice_columns(ledger: Ledger, as_of: dt.date) -> pd.DataFrame:
    """``_row`` plus paid, balance, days_overdue, reminder_level, last_contact for every invoice row
    whose values differ from what the sheet holds (so a refresh writes only what changed)."""
    b = invoice_balances(ledger, as_of)
    inv = ledger.invoices.set_index("_row")
    out = pd.DataFrame({"_row": b["_row"].to_numpy(), "currency": b["currency"].to_numpy()})
    out["paid"] = pd.array(b["paid"].to_numpy(), dtype="Int64")
    out["balance"] = pd.array(b["balance"].to_numpy(), dtype="Int64")
    days = b["days_overdue"].astype("Int64")
    out["days_overdue"] = days.where((b["balance"] > 0).to_numpy() & (days > 0).fillna(False).to_numpy(),
                                     pd.NA).to_numpy()
    lv = reminder_levels(ledger, as_of)  # the planner's own reading of the log, so sheet and plan agree
    out["reminder_level"] = [lv.get(i, "") for i in b["invoice_id"].tolist()]
    lc = last_contacts(ledger)
    out["last_contact"] = pd.to_datetime(b["invoice_id"].map(dict(zip(lc.index, lc, strict=True)))).to_numpy(
        dtype="datetime64[ns]")
    old = inv.reindex(out["_row"])
    changed = np.zeros(len(out), dtype=bool)
    for col in ("paid", "balance", "days_overdue", "reminder_level", "last_contact"):
        a = out[col].reset_index(drop=True)
        o = old[col].reset_index(drop=True)
        if col == "reminder_level":
            changed |= (a.astype(str) != o.fillna("").astype(str)).to_numpy()
        else:
            changed |= ~((a == o).fillna(False) | (a.isna() & o.isna())).to_numpy(dtype=bool)
    return out[changed].reset_index(drop=True)


def missing_payment_ids(ledger: Ledger) -> pd.DataFrame:
    """``_row`` and a generated ``payment_id`` for payment rows that have none.

    The id is derived from the row's content, so two runs generate the same one.
    """
    p = ledger.payments
    blank = p[p["payment_id"] == ""]
    ids = []
    cols = [blank[c].tolist() for c in ("date", "customer_id", "invoice_id", "amount", "reference", "_row")]
    for values in zip(*cols, strict=True):
        basis = "|".join(str(v) for v in values)
        ids.append("P-" + hashlib.sha1(basis.encode()).hexdigest()[:10].upper())
    return pd.DataFrame({"_row": blank["_row"].to_numpy(), "payment_id": ids})
