"""The collector's worklist (pure): whom to contact first, why, and what to do.

One row per customer with something overdue, ranked. Each row has a score, a one-line reason a
person understands ("3 invoices 45–90 days overdue (4,200.00 EUR); promise of 12 May broken") and
the next action ("call", "send reminder r1", "chase broken promise", "review dispute", "fix
contact data", …), in Spanish or English.

How the ranking works (documented in the report's ``note`` too):

- Only what can be chased counts: overdue, undisputed invoices (age ≥ 0 by due date), net of the
  customer's credit notes and advances in the same currency. A residual at or below Settings
  ``write_off_tolerance`` of its currency is not chased: it is listed (with the amount) as "write off or
  claim with the next invoice".
- The next action follows the escalation ladder; where the ladder would send a message or a letter, the
  reminder planner has the last word (``cobro.reminders.next_steps``): what it sends today, or its next step
  and that step's date ("send reminder final on 14 Dec"), or "none: below the minimum" — one story with
  ``cobro remind``.
- Amounts are made comparable across currencies by normalizing per currency: ``share`` = the
  customer's chaseable amount ÷ the mean chaseable amount of the customers who owe something in that
  currency (1 = a typical debtor there). Amounts of different currencies are never added; only these
  unit-free shares are.
- Per currency, ``score = log2(1 + share) × (1 + oldest days overdue / 30)`` (days capped at 360):
  it grows with age, not only with amount, and anything more than 90 days overdue scores at least
  4 (as much as a typical debt 90 days overdue), so old small debts do not sink out of sight. A
  customer's score is the sum over its currencies.
- A broken promise (promise date + Settings ``promise_grace_days`` passed, promise not fulfilled,
  still owing) pushes up: ``score × 1.5 + 2``.
- Shown but not pushed (score × 0.1, always ranked after every customer that needs action, the reason
  says why): customers paused, in legal proceedings or closed; customers whose overdue invoices are
  all disputed; a promise to pay not yet due (promise date + grace not passed); a promise kept in
  the last 14 days; overdue invoices fully covered by the customer's credit notes or advances.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import chain
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from . import i18n, money
from .aging import KINDS, _open_arrays, _order
from .balances import as_timestamp
from .joins import group_sum, key_codes, match_rows
from .ledger import Ledger
from .reminders import NextStep, next_steps

KEPT_PROMISE_HOLD_DAYS = 14
OLD_DAYS = 90
OLD_FLOOR = 4.0
AGE_CAP = 360
HELD_FACTOR = 0.1

# The texts a person reads live in the translation catalogue (cobro.i18n): worklist.action.<action>,
# worklist.reason.<what>, worklist.status.<status>, worklist.on_date, worklist.note, month.short.<1-12>.


@lru_cache(maxsize=4096)
def action_label(action: str, locale: str = "en", level: str = "", status: str = "") -> str:
    """The next action as a person reads it (``send_reminder``, ``r1`` -> "send reminder r1")."""
    label = i18n.text(f"worklist.action.{action}", locale, level=level, status=status)
    return " ".join(label.split())


def _money_text(minor: int, currency: str, locale: str) -> str:
    """``money.format_money`` without Decimal (called for every customer of a large worklist)."""
    e, scale = _scale(currency)
    group, decimal = _marks(locale)
    q, r = divmod(abs(minor), scale)
    whole = f"{q:,}" if group == "," else f"{q:,}".replace(",", group)
    return f"{'-' if minor < 0 else ''}{whole}{decimal}{r:0{e}d} {currency}" if e else \
        f"{'-' if minor < 0 else ''}{whole} {currency}"


def _decimal_text(minor: int, currency: str) -> str:
    """``money.format_decimal`` without Decimal (``"1234.50"``; called for every row of a large worklist)."""
    e, scale = _scale(currency)
    if not e:
        return str(minor)
    q, r = divmod(abs(minor), scale)
    return f"{'-' if minor < 0 else ''}{q}.{r:0{e}d}"


@cache
def _scale(currency: str) -> tuple[int, int]:
    e = money.exponent(currency)
    return e, 10**e


@cache
def _marks(locale: str) -> tuple[str, str]:
    """The group and decimal marks ``money.localize_number`` writes for ``locale`` (the catalogue's)."""
    return i18n.text("number.group", locale), i18n.text("number.decimal", locale)


def _date(day: dt.date, as_of: dt.date, locale: str) -> str:
    text = f"{day.day} {i18n.text(f'month.short.{day.month}', locale)}"
    return text if day.year == as_of.year else f"{text} {day.year}"


class _Customer(NamedTuple):
    name: str
    status: str
    email: tuple[str, ...]
    phone: str
    collector: str
    currency: str


@dataclass(frozen=True)
class WorklistItem:
    """One customer to contact. Amounts are per currency, in minor units."""

    rank: int
    customer_id: str
    name: str
    score: float
    held: bool  # shown but not pushed
    action: str  # code: chase_promise, fix_contact, call, send_reminder, send_letter, send_whatsapp, …
    next_action: str  # the action as a person reads it, localized
    level: str  # the reminder level the action refers to ("" when none)
    reason: str
    oldest_days: int
    invoices: int  # overdue undisputed invoices
    overdue: dict[str, int] = field(default_factory=dict)  # chaseable (net of credits) per currency
    outstanding: dict[str, int] = field(default_factory=dict)  # all open items per currency
    collector: str = ""
    promise: str = ""  # "", "pending", "kept", "broken"
    action_date: dt.date | None = None  # when the action is due: the as-of date, or the planner's next step

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "customer_id": self.customer_id, "name": self.name, "collector": self.collector,
                "score": round(self.score, 2), "held": self.held, "action": self.action,
                "next_action": self.next_action, "level": self.level, "reason": self.reason,
                "oldest_days": self.oldest_days, "invoices": self.invoices, "promise": self.promise,
                "action_date": self.action_date.isoformat() if self.action_date else None,
                "overdue": {c: _decimal_text(v, c) for c, v in self.overdue.items()},
                "outstanding": {c: _decimal_text(v, c) for c, v in self.outstanding.items()}}


@dataclass(frozen=True)
class WorklistReport:
    as_of: dt.date
    locale: str
    rows: tuple[WorklistItem, ...]
    note: str

    @property
    def frame(self) -> pd.DataFrame:
        cols = ["rank", "customer_id", "name", "score", "held", "action", "next_action", "level", "reason",
                "oldest_days", "invoices", "promise", "collector", "action_date"]
        f = pd.DataFrame([[getattr(r, c) for c in cols] for r in self.rows], columns=cols)
        f["overdue"] = ["; ".join(money.format_money(v, c, self.locale) for c, v in r.overdue.items())
                        for r in self.rows]
        return f

    def to_json(self) -> dict[str, Any]:
        """``{"as_of", "locale", "note", "rows": [{rank, customer_id, name, collector, score, held, action,
        next_action, level, reason, oldest_days, invoices, promise, action_date, overdue: {cur: "1.00"},
        outstanding: {cur: "1.00"}}]}``."""
        return {"as_of": self.as_of.isoformat(), "locale": self.locale, "note": self.note,
                "rows": [r.to_json() for r in self.rows]}


def _ladder(ledger: Ledger) -> list[tuple[str, int, str, bool]]:
    lv = ledger.levels
    if lv.empty:
        return []
    days = lv["days"].astype("Int64").fillna(0).astype(np.int64).to_numpy()
    rows = [(str(k), int(d), str(c or "email"), bool(s)) for k, d, c, s in
            zip(lv["level"], days, lv["channel"], lv["stop"], strict=True) if str(k)]
    return sorted(rows, key=lambda r: r[1])


def _promises(ledger: Ledger, ts: pd.Timestamp, wanted: set[str], home: dict[str, str],
              open_ids: Callable[[], set[str]]) -> dict[str, tuple[dt.date, bool]]:
    """customer_id -> (promise date, kept) for the latest promise to pay each customer in ``wanted``
    made up to the as-of date.

    A promise is kept when the payments of the customer (in its currency) dated from the day it was
    made to the promise date + grace (and not after the as-of date) reach the promised amount; without
    an amount, when the invoices it names are paid; naming none either, when anything was paid.
    """
    c = ledger.contacts
    if c.empty or not wanted:
        return {}
    t_end = (ts + pd.Timedelta(days=1)).to_datetime64()
    tsv = c["timestamp"].to_numpy(dtype="datetime64[ns]")
    pdate = c["promise_date"].to_numpy(dtype="datetime64[ns]")
    idx = np.flatnonzero((c["outcome"].to_numpy(dtype=object) == "promise") & ~np.isnat(pdate) & (tsv < t_end))
    if not len(idx):
        return {}
    idx = idx[np.argsort(tsv[idx], kind="stable")]
    latest: dict[str, int] = {}
    for k, cid in zip(idx.tolist(), c["customer_id"].to_numpy(dtype=object)[idx].tolist(), strict=True):
        if cid in wanted:
            latest[cid] = k  # the last one logged wins
    if not latest:
        return {}
    keys = np.array(list(latest), dtype=object)
    rows = np.array(list(latest.values()), dtype=np.intp)
    grace = np.timedelta64(ledger.settings.promise_grace_days, "D")
    start = tsv[rows].astype("datetime64[D]").astype("datetime64[ns]")
    deadline = np.minimum(pdate[rows] + grace, ts.to_datetime64())
    homes = np.array([home.get(k, ledger.settings.base_currency) for k in keys.tolist()], dtype=object)

    pay = ledger.payments
    pdates = pay["date"].to_numpy(dtype="datetime64[ns]")
    near = np.flatnonzero((pdates >= start.min()) & (pdates <= deadline.max()))  # in some promise's window
    who = match_rows(keys, pay["customer_id"].to_numpy(dtype=object)[near])
    hit = near[who >= 0]
    k = who[who >= 0]
    d = pdates[hit]
    within = (d >= start[k]) & (d <= deadline[k]) & (pay["currency"].to_numpy(dtype=object)[hit] == homes[k])
    paid = group_sum(k[within], pay["amount"].to_numpy(dtype=np.int64)[hit][within], len(keys))
    count = np.bincount(k[within], minlength=len(keys))

    amounts = c["promise_amount"].to_numpy(dtype=object)[rows]
    listed = c["invoice_ids"].to_numpy(dtype=object)[rows]
    out: dict[str, tuple[dt.date, bool]] = {}
    promised = pdate[rows].astype("datetime64[D]").tolist()
    for j, cid in enumerate(keys.tolist()):
        amount, names = amounts[j], [i for i in (listed[j] or ()) if i]
        if amount is not None and not pd.isna(amount):
            kept = int(paid[j]) >= int(amount)
        elif names:
            kept = not any(i in open_ids() for i in names)
        else:
            kept = bool(count[j])
        out[cid] = (promised[j], kept)
    return out


@dataclass
class _Totals:
    """Step 1: the open items summed per (customer, currency) group and per customer. Lists are plain Python
    values for the per-customer loop (numpy scalars are slow one at a time)."""

    customers: np.ndarray  # customer ids, sorted (customer code -> id)
    currencies: np.ndarray
    group: np.ndarray  # per item: its (customer, currency) group
    g_cust: np.ndarray  # per group: customer code
    g_cur: np.ndarray  # per group: currency code
    chase: np.ndarray  # per item: overdue, undisputed, above the write-off tolerance
    net: np.ndarray  # per group: chaseable net of credits
    groups_of: list[list[int]]  # per customer: its groups
    cur_of: list[str]  # per group: currency
    cur_code: list[int]  # per group: currency code
    gross: list[int]
    net_l: list[int]
    disp: list[int]
    max_age: list[int]
    d_max: list[int]
    outstanding: list[int]
    n_chase: list[int]
    n_disp: list[int]
    c_max: list[int]
    c_min: list[int]
    residuals: dict[int, list[tuple[str, int, str, int]]]  # customer code -> (invoice, balance, currency, age)


def _totals(ledger: Ledger, items: dict[str, np.ndarray]) -> _Totals:
    group, customers, currencies, g_cust, g_cur = _order(items)
    ng, nc = len(g_cust), len(customers)
    kind, bal, age = items["kind"], items["balance"], items["age"]
    is_inv = kind == KINDS[0]
    tolerance = ledger.settings.write_off_tolerance
    tol = np.array([int(tolerance.get(str(c), 0)) for c in currencies.tolist()], dtype=np.int64)
    item_tol = tol[g_cur[group]] if len(group) else np.zeros(0, dtype=np.int64)
    disputed = is_inv & (items["status"] == "disputed") & (age >= 0) & (bal > 0)
    overdue = is_inv & (items["status"] != "disputed") & (age >= 0) & (bal > 0)
    residual = overdue & (bal <= item_tol)
    chase = overdue & ~residual
    credit = ~is_inv

    gross = group_sum(group[chase], bal[chase], ng)
    net = gross + group_sum(group[credit], bal[credit], ng)
    max_age = np.full(ng, -1, dtype=np.int64)
    np.maximum.at(max_age, group[chase], age[chase])
    c_max = np.full(nc, -1, dtype=np.int64)
    np.maximum.at(c_max, g_cust[group[chase]], age[chase])
    c_min = np.full(nc, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(c_min, g_cust[group[chase]], age[chase])
    d_max = np.full(ng, -1, dtype=np.int64)
    np.maximum.at(d_max, group[disputed], age[disputed])
    residuals: dict[int, list[tuple[str, int, str, int]]] = {}
    for k in np.flatnonzero(residual).tolist():
        residuals.setdefault(int(g_cust[group[k]]), []).append(
            (str(items["invoice_id"][k]), int(bal[k]), str(items["currency"][k]), int(age[k])))
    groups_of: list[list[int]] = [[] for _ in range(nc)]
    for gi, ci in enumerate(g_cust.tolist()):
        groups_of[ci].append(gi)
    return _Totals(
        customers=customers, currencies=currencies, group=group, g_cust=g_cust, g_cur=g_cur, chase=chase, net=net,
        groups_of=groups_of, cur_of=[str(currencies[k]) for k in g_cur.tolist()], cur_code=g_cur.tolist(),
        gross=gross.tolist(),
        net_l=net.tolist(), disp=group_sum(group[disputed], bal[disputed], ng).tolist(), max_age=max_age.tolist(),
        d_max=d_max.tolist(), outstanding=group_sum(group, bal, ng).tolist(),
        n_chase=np.bincount(g_cust[group[chase]], minlength=nc).tolist(),
        n_disp=np.bincount(g_cust[group[disputed]], minlength=nc).tolist(), c_max=c_max.tolist(),
        c_min=c_min.tolist(), residuals=residuals)


def _scorer(t: _Totals) -> Callable[[int, int, int], float]:
    """Step 2: ``score(amount, oldest days, currency code)``, normalized by the mean chaseable amount of the
    debtors of each currency."""
    ref = np.ones(len(t.currencies), dtype=np.float64)
    for k in range(len(t.currencies)):
        owing = t.net[(t.g_cur == k) & (t.net > 0)]
        if len(owing):
            ref[k] = float(owing.mean())
    ref_l = ref.tolist()

    def pair_score(amount: int, oldest: int, k: int) -> float:
        if amount <= 0:
            return 0.0
        s = math.log2(1.0 + amount / ref_l[k]) * (1.0 + min(oldest, AGE_CAP) / 30.0)
        return max(s, OLD_FLOOR) if oldest > OLD_DAYS else s

    return pair_score


def _customer_levels(ledger: Ledger, ts: pd.Timestamp, items: dict[str, np.ndarray], t: _Totals,
                     ladder: list[tuple[str, int, str, bool]]) -> list[int]:
    """Step 3: the reminder level reached per customer: the highest over its chaseable invoices of
    Invoices.reminder_level (as of cobro's last run) and of the Contacts log up to the as-of date (-1: none)."""
    rank_of = {lv[0]: i for i, lv in enumerate(ladder)}
    c_level = np.full(len(t.customers), -1, dtype=np.int64)
    chase_rows = items["row"][t.chase]
    if ladder and len(chase_rows):
        codes, uniques = pd.factorize(ledger.invoices["reminder_level"].to_numpy(dtype=object)[chase_rows])
        lv_rank = np.array([rank_of.get(u, -1) for u in uniques.tolist()] + [-1], dtype=np.int64)[codes]
        lv_rank = np.maximum(lv_rank, _levels_from_contacts(ledger, ts, rank_of, items["invoice_id"][t.chase],
                                                                  chase_rows))
        np.maximum.at(c_level, t.g_cust[t.group[t.chase]], lv_rank)
    return c_level.tolist()


def _customer_info(ledger: Ledger) -> dict[str, _Customer]:
    """Step 4: name, status and contact data per customer (the first row of a duplicated id, as everywhere)."""
    cust = ledger.customers
    cols = [cust[k].to_numpy(dtype=object).tolist() for k in ("name", "status", "email", "phone", "collector",
                                                               "currency")]
    cinfo: dict[str, _Customer] = {}
    for cid, *values in zip(cust["customer_id"].to_numpy(dtype=object).tolist(), *cols, strict=True):
        cinfo.setdefault(cid, _Customer(*values))
    return cinfo


@dataclass
class _Story:
    """What the per-customer step reads besides the totals."""

    day: dt.date
    locale: str
    grace: dt.timedelta
    score: Callable[[int, int, int], float]
    ladder: list[tuple[str, int, str, bool]]
    c_level: list[int]
    cinfo: dict[str, _Customer]
    promises: dict[str, tuple[dt.date, bool]]
    outlook: dict[str, NextStep] | None  # None: not asked yet (``ask`` collects whom to ask about)
    ask: set[str] = field(default_factory=set)


def worklist(ledger: Ledger, as_of: dt.date | str | pd.Timestamp, locale: str | None = None) -> WorklistReport:
    """Customers ranked by whom to contact first (see the module docstring for the rules)."""
    locale = i18n.language(locale or ledger.settings.locale)
    ts = as_timestamp(as_of)
    day = ts.date()
    items = _open_arrays(ledger, ts, "due_date", full=True)
    t = _totals(ledger, items)  # 1.
    ladder = _ladder(ledger)
    cinfo = _customer_info(ledger)  # 4.
    listed = {str(t.customers[ci]) for ci in range(len(t.customers)) if t.n_chase[ci] or t.n_disp[ci]}
    open_cache: list[set[str]] = []
    bal, is_inv = items["balance"], items["kind"] == KINDS[0]

    def open_ids() -> set[str]:
        if not open_cache:
            open_cache.append(set(items["invoice_id"][is_inv & (bal > 0)].tolist()))
        return open_cache[0]

    story = _Story(
        day=day, locale=locale, grace=dt.timedelta(days=ledger.settings.promise_grace_days), score=_scorer(t),  # 2.
        ladder=ladder, c_level=_customer_levels(ledger, ts, items, t, ladder), cinfo=cinfo,  # 3.
        promises=_promises(ledger, ts, listed, {k: str(v.currency) for k, v in cinfo.items()}, open_ids),  # 5.
        outlook=None)
    shown = [ci for ci in range(len(t.customers)) if t.n_chase[ci] or t.n_disp[ci] or ci in t.residuals]
    rows = {ci: _customer_row(ci, t, story) for ci in shown}
    # 6. where the ladder would send something, the reminder planner's own answer (what goes out today, or the
    # next step and its date), so the worklist and ``remind`` tell one story: asked only about those customers
    story.outlook = {n.customer_id: n for n in next_steps(ledger, day, include_today=True, customers=story.ask)}
    for ci in shown:
        if str(t.customers[ci]) in story.ask:
            rows[ci] = _customer_row(ci, t, story)
    out = [((r["held"], -round(r["score"], 9), -r["oldest_days"], r["customer_id"]), r) for r in rows.values()]
    out.sort(key=lambda x: x[0])
    rows = tuple(WorklistItem(rank=i + 1, **r) for i, (_, r) in enumerate(out))
    return WorklistReport(as_of=day, locale=locale, rows=rows, note=i18n.text("worklist.note", locale))


_STEP_ACTIONS = {"phone": "call", "letter": "send_letter", "whatsapp": "send_whatsapp", "email": "send_reminder"}


def _customer_row(ci: int, t: _Totals, s: _Story) -> dict[str, Any]:
    """Step 7, one customer: the reason in words, the next action (and its date) and the score."""
    locale = s.locale
    gs = t.groups_of[ci]
    cid = str(t.customers[ci])
    info = s.cinfo.get(cid)
    name = str(info.name) if info is not None else ""
    status = str(info.status) if info is not None else "active"
    emails = info.email if info is not None else ()
    phone = str(info.phone) if info is not None else ""
    has_email = bool(emails) and any("@" in str(e) for e in emails)
    has_contact = has_email or bool(phone.strip())
    cur_of, g_cur = t.cur_of, t.cur_code

    def amounts(values: dict[str, int]) -> str:
        return "; ".join(_money_text(v, c, locale) for c, v in values.items())

    chase_by_cur = {cur_of[g]: t.net_l[g] for g in gs if t.gross[g] > 0 and t.net_l[g] > 0}
    covered_by_cur = {cur_of[g]: t.gross[g] for g in gs if t.gross[g] > 0 and t.net_l[g] <= 0}
    disp_by_cur = {cur_of[g]: t.disp[g] for g in gs if t.disp[g] > 0}
    base = sum(s.score(t.net_l[g], t.max_age[g], g_cur[g]) for g in gs)
    oldest = t.c_max[ci]
    parts: list[str] = []
    chase_n = t.n_chase[ci]
    if chase_n:
        a, b = t.c_min[ci], oldest
        key = "overdue_1" if chase_n == 1 else ("overdue_n_same" if a == b else "overdue_n")
        parts.append(i18n.text(f"worklist.reason.{key}", locale, n=chase_n, a=a, b=b,
                               amounts=amounts({cur_of[g]: t.gross[g] for g in gs if t.gross[g] > 0})))
    if t.n_disp[ci]:
        key = "disputed_1" if t.n_disp[ci] == 1 else "disputed_n"
        parts.append(i18n.text(f"worklist.reason.{key}", locale, n=t.n_disp[ci], amounts=amounts(disp_by_cur)))
    residuals = t.residuals.get(ci, [])
    if residuals:
        parts.append(i18n.text("worklist.reason.write_off", locale,
                               items="; ".join(f"{i}: {_money_text(v, c, locale)}" for i, v, c, _ in residuals)))

    promise = _promise_state(cid, chase_by_cur, s, parts)
    level, held, when = "", False, s.day
    if status in ("paused", "legal", "closed"):
        held, action = True, "on_hold"
        parts.append(i18n.text(f"worklist.status.{status}", locale))
    elif not chase_by_cur and covered_by_cur:
        held, action = True, "apply_credit"
        parts.append(i18n.text("worklist.reason.covered", locale, amounts=amounts(covered_by_cur)))
    elif not chase_by_cur and not t.n_disp[ci]:
        held, action = True, "write_off"
    elif not chase_by_cur:
        held, action = True, "review_dispute"
        base = sum(s.score(t.disp[g], t.d_max[g], g_cur[g]) for g in gs)
    elif promise == "pending":
        held, action = True, "wait_promise"
    elif promise == "kept":
        held, action = True, "promise_kept"
    elif promise == "broken":
        action = "chase_promise"
    elif not has_contact:
        action = "fix_contact"
        parts.append(i18n.text("worklist.reason.no_contact", locale))
    else:
        action, level, when, held = _next_action(cid, ci, oldest, s, parts)
        if action == "send_reminder" and not has_email:
            action, level = "call", ""
            parts.append(i18n.text("worklist.reason.no_email", locale))
    score = base * HELD_FACTOR if held else (base * 1.5 + 2.0 if promise == "broken" else base)
    status_text = i18n.text(f"worklist.status.{status}", locale) if status in ("paused", "legal", "closed") else ""
    label = action_label(action, locale, level=level, status=status_text)
    if when > s.day:
        label += " " + i18n.text("worklist.on_date", locale, date=_date(when, s.day, locale))
    return {
        "customer_id": cid, "name": name, "score": score, "held": held, "action": action, "next_action": label,
        "level": level, "reason": "; ".join(parts),
        "oldest_days": max([oldest, *(t.d_max[g] for g in gs), *(r[3] for r in residuals)]),
        "invoices": chase_n, "overdue": chase_by_cur, "outstanding": {cur_of[g]: t.outstanding[g] for g in gs},
        "collector": str(info.collector) if info is not None else "", "promise": promise, "action_date": when,
    }


def _promise_state(cid: str, chase_by_cur: dict[str, int], s: _Story, parts: list[str]) -> str:
    """The customer's latest promise to pay: "", "pending", "kept" or "broken" (and its words in ``parts``)."""
    if cid not in s.promises:
        return ""
    pdate, kept = s.promises[cid]
    deadline = pdate + s.grace
    when = _date(pdate, s.day, s.locale)
    if s.day <= deadline:
        promise = "kept" if kept else "pending"
        parts.append(i18n.text(f"worklist.reason.{promise}", s.locale, date=when))
        return promise
    if kept:
        if s.day <= deadline + dt.timedelta(days=KEPT_PROMISE_HOLD_DAYS):
            parts.append(i18n.text("worklist.reason.kept", s.locale, date=when))
            return "kept"
        return ""
    if chase_by_cur:
        parts.append(i18n.text("worklist.reason.broken", s.locale, date=when))
        return "broken"
    return ""


def _next_action(cid: str, ci: int, oldest: int, s: _Story, parts: list[str]) -> tuple[str, str, dt.date, bool]:
    """Step 7b: ``(action, level, date, held)`` from the escalation ladder — and, where the ladder would send a
    message or letter, the reminder planner's own answer: what goes out today, or its next step and that step's
    date (the gap after a letter respected), or why nothing is chased (below the minimum)."""
    ladder, level_idx = s.ladder, s.c_level[ci]
    action, level = _ladder_action(ladder, level_idx, oldest)
    if level_idx >= 0:
        parts.append(i18n.text("worklist.reason.last_level", s.locale, level=ladder[level_idx][0]))
        if ladder[level_idx][3]:
            parts.append(i18n.text("worklist.reason.ladder_done", s.locale))
    if action not in ("send_reminder", "send_letter", "send_whatsapp") or not ladder:
        return action, level, s.day, False  # a person follows up: no message for the planner to date
    if s.outlook is None:
        s.ask.add(cid)
        return action, level, s.day, False
    step = s.outlook.get(cid)
    if step is None:
        return action, level, s.day, False
    if step.kind in ("today", "due", "level"):
        when = step.date if step.kind == "level" and step.date else s.day
        return _STEP_ACTIONS.get(step.channel, "send_reminder"), step.level, when, False
    if step.kind in ("below_minimum", "below_formal_minimum"):
        parts.append(step.message(s.locale))
        return "below_minimum", "", s.day, True
    return "call", "", s.day, False


def _ladder_action(ladder: list[tuple[str, int, str, bool]], current: int, oldest: int) -> tuple[str, str]:
    """Next action from the escalation ladder: the level after the last one reached, never skipping;
    a call when the level due by age was already reached (or the ladder ended)."""
    if not ladder:
        return ("call", "") if oldest > 30 else ("send_reminder", "")
    due = [i for i, lv in enumerate(ladder) if lv[1] <= oldest]
    target = due[-1] if due else 0
    if current >= target or current >= len(ladder) - 1 or (current >= 0 and ladder[current][3]):
        return "call", ""
    key, _, channel, _ = ladder[current + 1]
    return {"phone": ("call", key), "letter": ("send_letter", key), "whatsapp": ("send_whatsapp", key)}.get(
        channel, ("send_reminder", key))


def _levels_from_contacts(ledger: Ledger, ts: pd.Timestamp, rank_of: dict[str, int],
                          invoice_ids: np.ndarray, invoice_rows: np.ndarray | None = None) -> np.ndarray:
    """Per invoice id: the rank in the ladder of the highest level the Contacts log says it reached
    up to the as-of date (-1: none). As ``cobro.reminders.reminder_levels``: a contact counts when it
    names a level, was not incoming, and did not fail or bounce.

    ``invoice_rows`` (the invoices' positions in ``ledger.invoices``, when they are invoices of it) lets the
    log be joined to the Invoices sheet once per ledger: the join of every logged id is remembered
    (``joins.key_codes``), so other as-of dates only redo the cheap part."""
    c = ledger.contacts
    out = np.full(len(invoice_ids), -1, dtype=np.int64)
    if c.empty or not rank_of or not len(invoice_ids):
        return out
    level = c["level"].to_numpy(dtype=object)
    outcome = c["outcome"].to_numpy(dtype=object)
    keep = ((level != "") & (outcome != "failed") & (outcome != "bounced")
            & (c["direction"].to_numpy(dtype=object) != "in")
            & (c["timestamp"].to_numpy(dtype="datetime64[ns]") < (ts + pd.Timedelta(days=1)).to_datetime64()))
    if invoice_rows is not None:
        # every row of the log, kept or not: the same objects whatever the date, so the join is remembered
        lists = c["invoice_ids"].to_numpy(dtype=object).tolist()
        lens = np.fromiter(map(len, lists), dtype=np.intp, count=len(lists))
        flat = np.fromiter(chain.from_iterable(lists), dtype=object, count=int(lens.sum()))
        kcodes, qcodes, first = key_codes(ledger.invoices["invoice_id"], flat, remember=True)
        if len(first) == len(kcodes):  # unique invoice ids (as validated): an invoice row is its id's code
            codes, uniques = pd.factorize(level)
            rank = np.array([rank_of.get(u, -1) for u in uniques.tolist()] + [-1], dtype=np.int64)[codes]
            rank = np.repeat(np.where(keep, rank, -1), lens)
            hit = (qcodes >= 0) & (rank >= 0)
            per_row = np.full(len(kcodes), -1, dtype=np.int64)
            np.maximum.at(per_row, qcodes[hit], rank[hit])
            return per_row[invoice_rows]
    idx = np.flatnonzero(keep)
    if not len(idx):
        return out
    lists = c["invoice_ids"].to_numpy(dtype=object)[idx].tolist()
    lens = np.fromiter(map(len, lists), dtype=np.intp, count=len(lists))
    flat = np.fromiter(chain.from_iterable(lists), dtype=object, count=int(lens.sum()))
    codes, uniques = pd.factorize(level[idx])
    rank = np.array([rank_of.get(u, -1) for u in uniques.tolist()], dtype=np.int64)[codes]
    rank = np.repeat(rank, lens)
    pos = match_rows(invoice_ids, flat)
    hit = pos >= 0
    np.maximum.at(out, pos[hit], rank[hit])
    return out
