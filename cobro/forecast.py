"""When the money will come in (pure): an expected payment date per open invoice, a weekly inflow, a back-test.

The model is an empirical one, learned from the ledger's own dates (no library beyond numpy/pandas):

- An invoice is *settled* on the date of the payment after which what it still owes is at most 1 % of its
  amount (one-cent and bank-fee shortfalls are residuals, not debts). Its *delay* is that date minus its due
  date, in days (negative: paid early).
- For an open invoice of customer C that is ``a`` days past its due date at the cut-off (``a`` < 0 when not due
  yet), only past delays *longer than a* are possible (it is still unpaid after ``a`` days). The expected delay
  is the midpoint of the median and the mean of C's such delays; the range is their 25th–75th percentile. When
  C has none, the *similar customers* (the same payment terms, in days) stand in when they have at least
  ``SIMILAR_MIN`` such delays, else every customer (a pool's conditional mean: a pool mixes habits). The
  expected date is then blended (``BLEND`` = 60 %) with the customer's plain average delay (not before the day
  after the cut-off): the conditional estimate rests on few delays once an invoice is late, the average on all.
- Adjusted by the Contacts log: a promise to pay not yet due at the cut-off sets the expected date of the
  invoices it names (of all the customer's open invoices when it names none) when the customer kept at least
  80 % of at least 3 past promises (kept: its payments from the day it was logged to
  the promise date cover the promised amount). A reminder sent in the last 7 days to an overdue customer can
  pull the date in to the customers' median reply time (``REMINDERS``; off by default because the back-test on
  the demo ledger measured it worse — its ``variants_mae_days`` shows the figure with it flipped).
- The expected date is never before the day after the cut-off (the invoice was not paid by then).

Back-test (walk-forward): at each month end of the period, the model learns only from invoices settled and
contacts logged by that day, forecasts every invoice open then, and is compared with the date each was
actually settled (invoices never settled by the as-of date are left out of the error, said so in the counts).
Two baselines are scored the same way: the *due date* (not before the day after the cut-off) and the
customer's *average days late* over its settled invoices (not before the day after the cut-off). The weekly
inflow error is the weighted absolute percentage error (WAPE) of the 13 weekly sums per currency: Σ|forecast −
actual| ÷ Σ actual. The late/on-time accuracy is over the invoices not yet due at the cut-off: predicted late
means an expected date after the due date. One thing the replay cannot date: an invoice's status (a write-off or
cancellation has no date in the ledger), so cancelled and written-off invoices are left out at every cut-off.

Why no library: scikit-learn's HistGradientBoostingRegressor, trained at each cut-off on the invoices open at
earlier month ends whose payment was known by then, scored 13.2 days against this model's 11.5 on the demo
ledger (``bench/bench_forecast.py --gbm``): those training targets under-represent the slow payers not paid yet.

Amounts stay integer minor units per currency; currencies are never added.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from . import money
from .balances import as_timestamp, closed_mask, paid_arrays
from .joins import string_codes
from .ledger import Ledger

MIN_HISTORY = 1
SIMILAR_MIN = 20  # delays of similar customers needed before they stand in for a customer without history
# Reminder adjustment: off by default. On the demo ledger the contacts do not move payments (they are generated
# after them), and the back-test (``with_reminders``) measures it worse; a real ledger can turn it on per call.
REMINDERS = False
BLEND = 0.6  # weight of the conditional estimate against the customer's plain average delay
CENTRE_MIX = 0.5  # customer centre = CENTRE_MIX × conditional median + the rest × conditional mean
PROMISE_MIN = 3  # past promises before a customer's promise dates are trusted
PROMISE_KEPT = 0.8  # share of them kept
SETTLED_SHARE = 0.99  # settled once at most 1 % is left
REMINDER_WINDOW = 7
_DAY = np.timedelta64(1, "D")
_BIG = np.int64(1 << 20)  # offset between customers' delays in the flat sorted keys (delays are within ±2^19)


# ----------------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Facts:
    """Per invoice row of the ledger, what the model needs: days since the epoch, codes, settlement."""

    customer: np.ndarray  # int codes
    customers: np.ndarray  # code -> customer_id
    similar: np.ndarray  # int code of the customer's payment terms group
    currency: np.ndarray  # int codes
    currencies: np.ndarray
    issue: np.ndarray  # days since epoch (int64)
    due: np.ndarray
    amount: np.ndarray  # minor units
    settled: np.ndarray  # day settled, or a huge number when never (int64)
    eligible: np.ndarray  # bool: a real invoice (not credit note, not cancelled / written off)
    pay_day: np.ndarray  # per payment: day; pay_row: invoice row
    pay_row: np.ndarray
    pay_amount: np.ndarray
    promise_cust: np.ndarray  # contacts with a promise: customer code, day logged, promise day, kept?
    promise_logged: np.ndarray
    promise_day: np.ndarray
    promise_kept: np.ndarray
    promise_of: np.ndarray  # (promise index, invoice row) pairs: the invoices a promise names
    promise_inv: np.ndarray
    remind_cust: np.ndarray  # outgoing reminders: customer code, day
    remind_day: np.ndarray


NEVER = np.int64(10**9)


def _days(values: np.ndarray) -> np.ndarray:
    a = np.asarray(values, dtype="datetime64[D]")
    out = a.astype(np.int64)
    out[np.isnat(a)] = NEVER
    return out


def facts(ledger: Ledger) -> Facts:
    """The arrays the model learns from, computed once per ledger (the back-test cuts them by date)."""
    inv, pay, cus, con = ledger.invoices, ledger.payments, ledger.customers, ledger.contacts
    issue = _days(inv["issue_date"].to_numpy(dtype="datetime64[ns]"))
    due = _days(inv["due_date"].to_numpy(dtype="datetime64[ns]"))
    due = np.where(due == NEVER, issue, due)
    amount = inv["amount"].to_numpy(dtype=np.int64)
    ccode, customers = string_codes(np.concatenate([inv["customer_id"].to_numpy(dtype=object),
                                                    con["customer_id"].to_numpy(dtype=object),
                                                    cus["customer_id"].to_numpy(dtype=object)]))
    n_inv, n_con = len(inv), len(con)
    icust = ccode[:n_inv]
    kcode, currencies = string_codes(inv["currency"].to_numpy(dtype=object))
    # similar customers: the same payment terms (blank terms form a group of their own)
    terms = np.full(len(customers), -1, dtype=np.int64)
    if len(cus):
        t = cus["payment_terms_days"].to_numpy(dtype="float64", na_value=-1.0).astype(np.int64)
        terms[ccode[n_inv + n_con:]] = t
    _, similar_of_cust = np.unique(terms, return_inverse=True)

    _, prow = paid_arrays(ledger, ledger.invoices["issue_date"].max() if n_inv else "2000-01-01")
    pday = _days(pay["date"].to_numpy(dtype="datetime64[ns]"))
    pamt = pay["amount"].to_numpy(dtype=np.int64)
    on = prow >= 0
    r, d, a = prow[on], pday[on], pamt[on]
    order = np.lexsort((d, r))
    r, d, a = r[order], d[order], a[order]
    settled = np.full(n_inv, NEVER, dtype=np.int64)
    if len(r):
        start = np.r_[True, r[1:] != r[:-1]]
        grp = np.cumsum(start) - 1
        csum = np.cumsum(a)
        base = (csum - a)[start][grp]
        cum = csum - base
        need = amount[r] - (amount[r] - amount[r] * SETTLED_SHARE).astype(np.int64)
        hit = cum >= need
        first_hit = np.full(grp.max() + 1 if len(grp) else 0, -1, dtype=np.int64)
        idx = np.flatnonzero(hit)
        # the first hit per group: reverse assignment keeps the lowest index
        first_hit[grp[idx[::-1]]] = idx[::-1]
        rows = r[start]
        ok = first_hit >= 0
        settled[rows[ok]] = d[first_hit[ok]]
    status = inv["status"].to_numpy(dtype=object)
    eligible = (amount > 0) & ~closed_mask(status) & (issue != NEVER)

    # contacts: promises (kept = the customer's payments after logging cover the promised amount by its date)
    ts = _days(con["timestamp"].to_numpy(dtype="datetime64[ns]"))
    outcome = con["outcome"].to_numpy(dtype=object)
    ccust = ccode[n_inv:n_inv + n_con]
    is_prom = (outcome == "promise") & (_days(con["promise_date"].to_numpy(dtype="datetime64[ns]")) != NEVER)
    pidx = np.flatnonzero(is_prom)
    p_day = _days(con["promise_date"].to_numpy(dtype="datetime64[ns]"))[pidx]
    kept = promises_kept(ledger, pidx)
    row_of: dict[str, int] = {}
    if len(pidx):  # the invoices the promises name (a ledger without promises needs no map of ids)
        for i, v in enumerate(inv["invoice_id"].tolist()):
            row_of.setdefault(v, i)
    pairs = [(k, row_of[i]) for k, ids in enumerate(con["invoice_ids"].to_numpy(dtype=object)[pidx].tolist())
             for i in (ids or ()) if i in row_of]
    p_of = np.array([a for a, _ in pairs], dtype=np.int64)
    p_inv = np.array([b for _, b in pairs], dtype=np.int64)
    rem = np.flatnonzero((con["direction"].to_numpy(dtype=object) == "out")
                         & np.isin(outcome, ["sent", "reached"]) & (con["level"].to_numpy(dtype=object) != ""))
    return Facts(customer=icust, customers=customers, similar=similar_of_cust[icust].astype(np.int64),
                 currency=kcode, currencies=currencies, issue=issue, due=due, amount=amount, settled=settled,
                 eligible=eligible, pay_day=pday, pay_row=prow, pay_amount=pamt,
                 promise_cust=ccust[pidx], promise_logged=ts[pidx], promise_day=p_day, promise_kept=kept,
                 promise_of=p_of, promise_inv=p_inv,
                 remind_cust=ccust[rem], remind_day=ts[rem])


def promises_kept(ledger: Ledger, rows: np.ndarray | None = None) -> np.ndarray:
    """Per promise in Contacts (``rows``: positions in ``ledger.contacts``; default every ``promise``): True when
    the customer's payments dated from the day it was logged to the promise date add up to the promised amount
    (to anything at all when no amount was promised)."""
    con, pay = ledger.contacts, ledger.payments
    if rows is None:
        rows = np.flatnonzero(con["outcome"].to_numpy(dtype=object) == "promise")
    if not len(rows):
        return np.zeros(0, dtype=bool)
    logged = _days(con["timestamp"].to_numpy(dtype="datetime64[ns]"))[rows]
    pdate = _days(con["promise_date"].to_numpy(dtype="datetime64[ns]"))[rows]
    amt = con["promise_amount"].to_numpy(dtype="float64", na_value=0.0)[rows].astype(np.int64)
    cust = con["customer_id"].to_numpy(dtype=object)[rows]
    pc = pay["customer_id"].to_numpy(dtype=object)
    codes, _ = string_codes(np.concatenate([cust, pc]))
    qc, kc = codes[:len(rows)], codes[len(rows):]
    pday = _days(pay["date"].to_numpy(dtype="datetime64[ns]"))
    pamt = pay["amount"].to_numpy(dtype=np.int64)
    order = np.lexsort((pday, kc))
    kc, pday, pamt = kc[order], pday[order], pamt[order]
    csum = np.r_[0, np.cumsum(pamt)]
    key = kc.astype(np.int64) * (NEVER * 4) + pday
    lo = np.searchsorted(key, qc.astype(np.int64) * (NEVER * 4) + logged, side="left")
    hi = np.searchsorted(key, qc.astype(np.int64) * (NEVER * 4) + pdate, side="right")
    got = csum[hi] - csum[lo]
    return np.where(amt > 0, got >= amt, hi > lo)


# ----------------------------------------------------------------------------------- the model


def _conditional(group_train: np.ndarray, delay_train: np.ndarray, group_q: np.ndarray, age_q: np.ndarray,
                 probs: tuple[float, ...]) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Count, quantiles ``probs`` and mean of the training delays of each query's group that exceed its age
    (vectorized over groups: one sort of ``group * 2^20 + delay``)."""
    delay_train = np.clip(delay_train, -_BIG // 2 + 1, _BIG // 2 - 1)
    keys = group_train.astype(np.int64) * _BIG + delay_train
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    csum = np.r_[0, np.cumsum(delay_train[order])]
    gq = group_q.astype(np.int64) * _BIG
    lo = np.searchsorted(keys, gq + np.clip(age_q, -_BIG // 2, _BIG // 2 - 2), side="right")
    hi = np.searchsorted(keys, gq + _BIG // 2, side="left")
    n = hi - lo
    qs = []
    for p in probs:
        idx = np.minimum(lo + np.floor(np.maximum(n - 1, 0) * p).astype(np.int64), max(len(keys) - 1, 0))
        qs.append(keys[idx] - gq if len(keys) else np.zeros(len(gq), np.int64))
    mean = (csum[hi] - csum[lo]) / np.maximum(n, 1)
    return n, qs, mean


@dataclass(frozen=True)
class Prediction:
    """Per forecast invoice (rows of ``ledger.invoices``): expected day and range, as days since the epoch."""

    rows: np.ndarray
    expected: np.ndarray
    low: np.ndarray
    high: np.ndarray
    source: np.ndarray  # "customer", "similar", "all", "promise", "none"


def predict(f: Facts, cutoff: int, rows: np.ndarray, contacts: bool = True, reminders: bool | None = None
            ) -> Prediction:
    """Expected settlement days for invoice ``rows`` open at day ``cutoff``, learning only from what was known then."""
    train = np.flatnonzero(f.eligible & (f.settled <= cutoff))
    delay = f.settled[train] - f.due[train]
    age = cutoff - f.due[rows]
    probs = (0.5, 0.25, 0.75)
    n_c, q_c, m_c = _conditional(f.customer[train], delay, f.customer[rows], age, probs)
    n_s, q_s, m_s = _conditional(f.similar[train], delay, f.similar[rows], age, probs)
    n_a, q_a, m_a = _conditional(np.zeros(len(train), np.int64), delay, np.zeros(len(rows), np.int64), age, probs)
    use_c = n_c >= MIN_HISTORY
    use_s = ~use_c & (n_s >= SIMILAR_MIN)
    use_a = ~use_c & ~use_s & (n_a > 0)
    src = np.where(use_c, "customer", np.where(use_s, "similar", np.where(use_a, "all", "none"))).astype(object)
    # the centre: the customer's own conditional median; a pool's conditional mean (a pool mixes habits,
    # its median lands on the commonest habit, its mean errs less across them)
    centre = [np.rint(CENTRE_MIX * q_c[0] + (1 - CENTRE_MIX) * m_c).astype(np.int64),
              np.rint(m_s).astype(np.int64), np.rint(m_a).astype(np.int64)]
    pick = [np.where(use_c, c, np.where(use_s, s, np.where(use_a, a, np.maximum(age + 1, 0))))
            for c, s, a in zip([centre[0], q_c[1], q_c[2]], [centre[1], q_s[1], q_s[2]], [centre[2], q_a[1], q_a[2]],
                               strict=True)]
    soonest = cutoff + 1
    exp = np.maximum(f.due[rows] + pick[0], soonest)
    # blended with the customer's plain average delay (every customer's when it has none), not before tomorrow:
    # the conditional estimate rests on few delays when the invoice is already late; the average on all of them
    n_cust = len(f.customers)
    cnt = np.bincount(f.customer[train], minlength=n_cust)
    tot = np.bincount(f.customer[train], weights=delay.astype(np.float64), minlength=n_cust)
    pool = float(delay.mean()) if len(delay) else 0.0
    avg = np.where(cnt > 0, tot / np.maximum(cnt, 1), pool)[f.customer[rows]]
    plain = np.maximum(f.due[rows] + np.rint(avg).astype(np.int64), soonest)
    exp = np.rint(BLEND * exp + (1 - BLEND) * plain).astype(np.int64)
    low = np.minimum(np.maximum(f.due[rows] + pick[1], soonest), exp)
    high = np.maximum(f.due[rows] + pick[2], exp)

    # reminders: a recent reminder to an overdue customer pulls the date in to the typical reply time
    rem = f.remind_day <= cutoff
    if contacts and (REMINDERS if reminders is None else reminders) and rem.any():
        r_c, r_d = f.remind_cust[rem], f.remind_day[rem]
        last = np.full(len(f.customers), -NEVER, dtype=np.int64)
        np.maximum.at(last, r_c, r_d)
        lag = _reminder_lag(f, r_c, r_d, cutoff)
        if lag is not None:
            recent = (age > 0) & (cutoff - last[f.customer[rows]] <= REMINDER_WINDOW)
            pulled = np.maximum(last[f.customer[rows]] + lag, soonest)
            exp = np.where(recent & (pulled < exp), pulled, exp)
            low = np.minimum(low, exp)
    # promises: a promise not yet due moves the date to it when the customer keeps its promises
    known = f.promise_logged <= cutoff
    if contacts and known.any():
        pc, pdays, kept = f.promise_cust[known], f.promise_day[known], f.promise_kept[known]
        past = pdays < cutoff
        n_p = np.bincount(pc[past], minlength=len(f.customers))
        n_k = np.bincount(pc[past], weights=kept[past].astype(float), minlength=len(f.customers))
        reliable = (n_p >= PROMISE_MIN) & (n_k >= n_p * PROMISE_KEPT)
        pending = np.flatnonzero(known)[~past]  # indexes into the promise arrays
        # a promise naming invoices dates those invoices; one naming none dates all of its customer's
        named = np.zeros(len(f.promise_cust), dtype=bool)
        named[f.promise_of] = True
        general = pending[~named[pending]]
        nxt = np.full(len(f.customers), NEVER, dtype=np.int64)
        np.minimum.at(nxt, f.promise_cust[general], f.promise_day[general])
        promised = nxt[f.customer[rows]]
        is_pending = np.zeros(len(f.promise_cust), dtype=bool)
        is_pending[pending] = True
        pair = is_pending[f.promise_of]
        per_inv = np.full(len(f.amount), NEVER, dtype=np.int64)
        np.minimum.at(per_inv, f.promise_inv[pair], f.promise_day[f.promise_of[pair]])
        promised = np.minimum(promised, per_inv[rows])
        use = (promised != NEVER) & reliable[f.customer[rows]]
        exp = np.where(use, np.maximum(promised, soonest), exp)
        low = np.minimum(low, exp)
        high = np.maximum(high, exp)
        src = np.where(use, "promise", src).astype(object)
    return Prediction(rows=rows, expected=exp, low=low, high=high, source=src)


def _reminder_lag(f: Facts, r_c: np.ndarray, r_d: np.ndarray, cutoff: int) -> int | None:
    """The median days from a reminder to the next settlement of that customer (both known by the cut-off)."""
    done = np.flatnonzero(f.eligible & (f.settled <= cutoff))
    if not len(done) or not len(r_c):
        return None
    keys = np.sort(f.customer[done].astype(np.int64) * (NEVER * 4) + f.settled[done])
    q = r_c.astype(np.int64) * (NEVER * 4) + r_d
    i = np.searchsorted(keys, q, side="left")
    ok = i < len(keys)
    ok[ok] = keys[i[ok]] // (NEVER * 4) == r_c[ok]
    if ok.sum() < 10:
        return None
    lag = keys[i[ok]] - q[ok]
    return int(np.median(lag))


def open_rows(f: Facts, cutoff: int) -> np.ndarray:
    """Invoices issued by ``cutoff`` and not settled by then (real invoices only)."""
    return np.flatnonzero(f.eligible & (f.issue <= cutoff) & (f.settled > cutoff))


def _balance_at(f: Facts, rows: np.ndarray, cutoff: int) -> np.ndarray:
    counted = (f.pay_row >= 0) & (f.pay_day <= cutoff)
    paid = np.bincount(f.pay_row[counted], weights=f.pay_amount[counted].astype(np.float64),
                       minlength=len(f.amount))
    # bincount sums in float64: exact for sums below 2^53 minor units
    return f.amount[rows] - np.rint(paid[rows]).astype(np.int64)


# ----------------------------------------------------------------------------------- forecast


def _epoch_day(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


@dataclass(frozen=True)
class Forecast:
    """Open invoices with their expected payment date and range (``invoices``, made when first read: the weekly
    figures, all a cell function asks for, do not need it); the weekly inflow per currency."""

    as_of: dt.date
    weeks: int
    inflow: dict[str, list[int]]  # currency -> expected inflow per week (minor units); week k = as_of+1+7k ...
    later: dict[str, int]  # expected after the last week
    note: str = ""
    open_invoices: int = 0  # the invoices forecast (the rows of ``invoices``)
    _detail: Callable[[], pd.DataFrame] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def invoices(self) -> pd.DataFrame:
        """invoice_id, customer_id, currency, balance, due_date, expected, low, high, source; by expected date."""
        assert self._detail is not None
        return self._detail()

    def week_starts(self) -> list[dt.date]:
        return [self.as_of + dt.timedelta(days=1 + 7 * k) for k in range(self.weeks)]

    def to_json(self) -> dict[str, Any]:
        """``{"as_of", "weeks": [{"start", "inflow": {cur: "1.00"}}], "later", "invoices": [...], "note"}``."""
        starts = self.week_starts()
        f = self.invoices
        return {
            "as_of": self.as_of.isoformat(), "note": self.note,
            "weeks": [{"start": s.isoformat(),
                       "inflow": {c: money.format_decimal(v[k], c) for c, v in self.inflow.items()}}
                      for k, s in enumerate(starts)],
            "later": {c: money.format_decimal(v, c) for c, v in self.later.items()},
            "invoices": [{"invoice_id": r.invoice_id, "customer_id": r.customer_id, "currency": r.currency,
                          "balance": money.format_decimal(int(r.balance), r.currency),
                          "due_date": r.due_date.isoformat(), "expected": r.expected.isoformat(),
                          "low": r.low.isoformat(), "high": r.high.isoformat(), "source": r.source}
                         for r in f.itertuples(index=False)],
        }


NOTE = ("Expected date = due date + the customer's past delays longer than the invoice's current delay (midpoint "
        "of their median and mean; similar customers, then all, when it has none), blended 60/40 with its plain "
        "average delay; range = their 25th–75th percentile; a pending promise from a customer who keeps them sets "
        "the date of the invoices it names.")


def forecast(ledger: Ledger, as_of: dt.date | str | pd.Timestamp, weeks: int = 13,
             f: Facts | None = None) -> Forecast:
    """Expected payment date and range of every open invoice as of ``as_of``, and the weekly inflow per currency
    for ``weeks`` weeks (week 1 starts the day after ``as_of``). See the module docstring for the model."""
    day = as_timestamp(as_of).date()
    f = f or facts(ledger)
    cutoff = (day - dt.date(1970, 1, 1)).days
    rows = open_rows(f, cutoff)
    p = predict(f, cutoff, rows)
    bal = _balance_at(f, rows, cutoff)
    keep = bal > 0
    rows, bal = rows[keep], bal[keep]
    exp, low, high, src = p.expected[keep], p.low[keep], p.high[keep], p.source[keep]
    cur = f.currency[rows]
    week = (exp - cutoff - 1) // 7
    inflow: dict[str, list[int]] = {}
    later: dict[str, int] = {}
    for k in np.unique(cur).tolist():
        m = cur == k
        w = week[m]
        sums = [0] * weeks
        b = bal[m]
        inside = w < weeks
        for wk, amount in zip(w[inside].tolist(), b[inside].tolist(), strict=True):
            sums[wk] += amount
        code = str(f.currencies[k])
        inflow[code] = sums
        later[code] = int(b[~inside].sum())
    ids = ledger.invoices["invoice_id"].to_numpy(dtype=object)

    def detail() -> pd.DataFrame:
        epoch = np.datetime64("1970-01-01", "D")

        def dates(a: np.ndarray) -> list[dt.date]:
            return (epoch + a.astype("timedelta64[D]")).astype(dt.date).tolist() if len(a) else []

        frame = pd.DataFrame({
            "invoice_id": ids[rows],
            "customer_id": f.customers[f.customer[rows]],
            "currency": f.currencies[cur] if len(rows) else np.array([], dtype=object),
            "balance": bal, "due_date": dates(f.due[rows]), "expected": dates(exp), "low": dates(low),
            "high": dates(high), "source": src})
        return frame.sort_values(["expected", "invoice_id"], kind="stable").reset_index(drop=True)

    return Forecast(as_of=day, weeks=weeks, inflow=inflow, later=later, note=NOTE, open_invoices=len(rows),
                    _detail=detail)


# ----------------------------------------------------------------------------------- back-test


@dataclass(frozen=True)
class Backtest:
    """Walk-forward errors of the model and the two baselines."""

    as_of: dt.date
    cutoffs: tuple[dt.date, ...]
    evaluated: int  # invoices forecast and later settled (in the day error)
    unsettled: int  # invoices forecast but never settled by the as-of date (left out of the day error)
    mae_days: dict[str, float]
    wape: dict[str, dict[str, float]]  # currency -> method -> weekly inflow WAPE (%)
    accuracy: dict[str, float]  # late/on-time accuracy (%) over invoices not yet due at the cut-off
    classified: int
    per_cutoff: list[dict[str, Any]] = field(default_factory=list)
    variants: dict[str, float] = field(default_factory=dict)  # MAE (days) of the model with an option flipped

    def improvement(self) -> dict[str, float]:
        """How much lower the model's MAE is than each baseline's, in % of the baseline."""
        m = self.mae_days["model"]
        return {k: round(100.0 * (v - m) / v, 1) if v else 0.0 for k, v in self.mae_days.items() if k != "model"}

    def to_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "cutoffs": [c.isoformat() for c in self.cutoffs],
                "evaluated": self.evaluated, "unsettled": self.unsettled, "mae_days": self.mae_days,
                "improvement_pct": self.improvement(), "weekly_inflow_wape_pct": self.wape,
                "late_accuracy_pct": self.accuracy, "classified": self.classified, "variants_mae_days": self.variants,
                "per_cutoff": self.per_cutoff}


def month_ends(as_of: dt.date, months: int) -> list[dt.date]:
    """The last ``months`` month ends strictly before ``as_of``'s month, oldest first."""
    out = []
    first = as_of.replace(day=1)
    for _ in range(months):
        end = first - dt.timedelta(days=1)
        out.append(end)
        first = end.replace(day=1)
    return out[::-1]


def backtest(ledger: Ledger, as_of: dt.date | str | pd.Timestamp, months: int = 12, weeks: int = 13,
             f: Facts | None = None) -> Backtest:
    """Replay the last ``months`` month ends before ``as_of``: forecast with what was known then, compare with
    what was paid by ``as_of`` (see the module docstring). Deterministic: no randomness anywhere."""
    day = as_timestamp(as_of).date()
    f = f or facts(ledger)
    end = (day - dt.date(1970, 1, 1)).days
    cutoffs = month_ends(day, months)
    err: dict[str, list[np.ndarray]] = {"model": [], "due_date": [], "customer_average": []}
    correct: dict[str, int] = {"model": 0, "due_date": 0, "customer_average": 0}
    classified = 0
    unsettled = 0
    extra: list[np.ndarray] = []
    no_contacts: list[np.ndarray] = []
    weekly: dict[str, dict[str, list[int]]] = {}
    per_cutoff = []
    for c_day in cutoffs:
        cutoff = (c_day - dt.date(1970, 1, 1)).days
        rows = open_rows(f, cutoff)
        if not len(rows):
            continue
        p = predict(f, cutoff, rows)
        train = np.flatnonzero(f.eligible & (f.settled <= cutoff))
        delay = f.settled[train] - f.due[train]
        n_cust = len(f.customers)
        cnt = np.bincount(f.customer[train], minlength=n_cust)
        tot = np.bincount(f.customer[train], weights=delay.astype(float), minlength=n_cust)
        glob = float(delay.mean()) if len(delay) else 0.0
        avg = np.where(cnt > 0, tot / np.maximum(cnt, 1), glob)
        soonest = cutoff + 1
        alt = predict(f, cutoff, rows, reminders=not REMINDERS).expected
        bare = predict(f, cutoff, rows, contacts=False).expected
        preds = {"model": p.expected,
                 "due_date": np.maximum(f.due[rows], soonest),
                 "customer_average": np.maximum(f.due[rows] + np.rint(avg[f.customer[rows]]).astype(np.int64),
                                                soonest)}
        actual = f.settled[rows]
        done = actual <= end
        unsettled += int((~done).sum())
        row_stats: dict[str, Any] = {"cutoff": c_day.isoformat(), "open": int(len(rows)), "settled": int(done.sum())}
        not_due = done & (f.due[rows] > cutoff)
        late = actual > f.due[rows]
        classified += int(not_due.sum())
        extra.append(np.abs(alt[done] - actual[done]))
        no_contacts.append(np.abs(bare[done] - actual[done]))
        for k, pr in preds.items():
            e = np.abs(pr[done] - actual[done])
            err[k].append(e)
            row_stats[k] = round(float(e.mean()), 2) if len(e) else None
            correct[k] += int(((pr > f.due[rows]) == late)[not_due].sum())
        per_cutoff.append(row_stats)
        # weekly inflow: balances at the cut-off by forecast week vs by the week actually settled
        bal = _balance_at(f, rows, cutoff)
        horizon = cutoff + 7 * weeks
        if horizon > end:
            continue  # the actual weeks are not all known yet
        wk_act = (actual - cutoff - 1) // 7
        for k_cur in np.unique(f.currency[rows]).tolist():
            code = str(f.currencies[k_cur])
            m = f.currency[rows] == k_cur
            slot = weekly.setdefault(code, {"actual": [], **{k: [] for k in preds}})
            act = _weekly(wk_act[m], bal[m], weeks)
            slot["actual"].append(act)
            for k, pr in preds.items():
                slot[k].append(_weekly((pr[m] - cutoff - 1) // 7, bal[m], weeks))
    mae = {k: round(float(np.concatenate(v).mean()), 2) if v and sum(len(x) for x in v) else 0.0
           for k, v in err.items()}
    wape: dict[str, dict[str, float]] = {}
    for code, slot in weekly.items():
        act = np.concatenate(slot["actual"])
        denom = float(np.abs(act).sum())
        wape[code] = {k: round(100.0 * float(np.abs(np.concatenate(slot[k]) - act).sum()) / denom, 1)
                      if denom else 0.0 for k in preds}
    accuracy = {k: round(100.0 * v / classified, 1) if classified else 0.0 for k, v in correct.items()}
    evaluated = int(sum(len(x) for x in err["model"]))
    alt_mae = round(float(np.concatenate(extra).mean()), 2) if evaluated else 0.0
    bare_mae = round(float(np.concatenate(no_contacts).mean()), 2) if evaluated else 0.0
    return Backtest(as_of=day, cutoffs=tuple(cutoffs), evaluated=evaluated, unsettled=unsettled, mae_days=mae,
                    wape=wape, accuracy=accuracy, classified=classified, per_cutoff=per_cutoff,
                    variants={"with_reminders" if not REMINDERS else "without_reminders": alt_mae,
                              "without_contacts": bare_mae})


def _weekly(week: np.ndarray, amount: np.ndarray, weeks: int) -> np.ndarray:
    inside = (week >= 0) & (week < weeks)
    out = np.zeros(weeks, dtype=np.int64)
    np.add.at(out, week[inside], amount[inside])
    return out
