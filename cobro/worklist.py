"""The collector's worklist (pure): whom to contact first, why, and what to do.

One row per customer with something overdue, ranked. Each row has a score, a one-line reason a
person understands ("3 invoices 45–90 days overdue (4,200.00 EUR); promise of 12 May broken") and
the next action ("call", "send reminder r1", "chase broken promise", "review dispute", "fix
contact data", …), in Spanish or English.

How the ranking works (documented in the report's ``note`` too):

- Only what can be chased counts: overdue, undisputed invoices (age ≥ 0 by due date), net of the
  customer's credit notes and advances in the same currency.
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
from itertools import chain
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from . import money
from .aging import KINDS, _open_arrays, _order
from .balances import as_timestamp, group_sum, match_rows
from .ledger import Ledger

KEPT_PROMISE_HOLD_DAYS = 14
OLD_DAYS = 90
OLD_FLOOR = 4.0
AGE_CAP = 360
HELD_FACTOR = 0.1

_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
}

_ACTIONS = {
    "chase_promise": ("chase broken promise", "reclamar promesa incumplida"),
    "fix_contact": ("fix contact data", "corregir datos de contacto"),
    "call": ("call", "llamar"),
    "send_reminder": ("send reminder {level}", "enviar recordatorio {level}"),
    "send_letter": ("send letter", "enviar carta"),
    "send_whatsapp": ("send WhatsApp message", "enviar WhatsApp"),
    "review_dispute": ("review dispute", "revisar disputa"),
    "wait_promise": ("wait for the promised payment", "esperar el pago prometido"),
    "promise_kept": ("none: promise kept", "ninguna: promesa cumplida"),
    "on_hold": ("none: {status}", "ninguna: {status}"),
    "apply_credit": ("apply credit to invoices", "aplicar el saldo a favor a las facturas"),
}

_TEXT = {
    "overdue_1": ("1 invoice {a} days overdue ({amounts})", "1 factura vencida hace {a} días ({amounts})"),
    "overdue_n_same": ("{n} invoices {a} days overdue ({amounts})", "{n} facturas vencidas hace {a} días ({amounts})"),
    "overdue_n": ("{n} invoices {a}–{b} days overdue ({amounts})",
                  "{n} facturas vencidas hace {a}–{b} días ({amounts})"),
    "disputed_1": ("1 invoice in dispute ({amounts})", "1 factura en disputa ({amounts})"),
    "disputed_n": ("{n} invoices in dispute ({amounts})", "{n} facturas en disputa ({amounts})"),
    "broken": ("promise of {date} broken", "promesa del {date} incumplida"),
    "pending": ("promised to pay by {date}", "prometió pagar el {date}"),
    "kept": ("promise of {date} kept", "promesa del {date} cumplida"),
    "no_contact": ("no email or phone", "sin email ni teléfono"),
    "no_email": ("no email address", "sin email"),
    "last_level": ("last reminder {level}", "último recordatorio {level}"),
    "ladder_done": ("automatic reminders finished", "recordatorios automáticos terminados"),
    "covered": ("covered by credit notes/advances ({amounts})", "cubierto por abonos/anticipos ({amounts})"),
    "paused": ("customer paused", "cliente en pausa"),
    "legal": ("customer in legal proceedings", "cliente en vía legal"),
    "closed": ("customer closed", "cliente cerrado"),
    "note": (
        "Ranked by a score that grows with age and amount: per currency log2(1 + share) × (1 + oldest days "
        "overdue / 30), share = chaseable overdue ÷ the mean of that currency's debtors (currencies are never "
        "added, only these shares); at least 4 beyond 90 days; broken promises × 1.5 + 2; disputes, paused/"
        "legal customers and kept promises are listed last at a tenth of their score.",
        "Orden por una puntuación que crece con la antigüedad y el importe: por moneda log2(1 + cuota) × (1 + días "
        "de retraso de la más antigua / 30), cuota = vencido reclamable ÷ la media de los deudores de esa moneda "
        "(las monedas nunca se suman, solo estas cuotas); al menos 4 a partir de 90 días; promesas incumplidas "
        "× 1,5 + 2; disputas, clientes en pausa/vía legal y promesas cumplidas van al final con una décima parte "
        "de su puntuación.",
    ),
}


def _t(key: str, locale: str, **kw: object) -> str:
    return _TEXT[key][1 if locale == "es" else 0].format(**kw)


def action_label(action: str, locale: str = "en", level: str = "", status: str = "") -> str:
    """The next action as a person reads it (``send_reminder``, ``r1`` -> "send reminder r1")."""
    text = _ACTIONS[action][1 if locale == "es" else 0]
    return " ".join(text.format(level=level, status=status).split())


def _money_text(minor: int, currency: str, locale: str) -> str:
    """``money.format_money`` without Decimal (called for every customer of a large worklist)."""
    e = money.exponent(currency)
    q, r = divmod(abs(minor), 10**e)
    text = f"{'-' if minor < 0 else ''}{q:,}" + (f".{r:0{e}d}" if e else "")
    if locale == "es":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{text} {currency}"


def _date(day: dt.date, as_of: dt.date, locale: str) -> str:
    names = _MONTHS["es" if locale == "es" else "en"]
    text = f"{day.day} {names[day.month - 1]}"
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

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "customer_id": self.customer_id, "name": self.name, "collector": self.collector,
                "score": round(self.score, 2), "held": self.held, "action": self.action,
                "next_action": self.next_action, "level": self.level, "reason": self.reason,
                "oldest_days": self.oldest_days, "invoices": self.invoices, "promise": self.promise,
                "overdue": {c: money.format_decimal(v, c) for c, v in self.overdue.items()},
                "outstanding": {c: money.format_decimal(v, c) for c, v in self.outstanding.items()}}


@dataclass(frozen=True)
class WorklistReport:
    as_of: dt.date
    locale: str
    rows: tuple[WorklistItem, ...]
    note: str

    @property
    def frame(self) -> pd.DataFrame:
        cols = ["rank", "customer_id", "name", "score", "held", "action", "next_action", "level", "reason",
                "oldest_days", "invoices", "promise", "collector"]
        f = pd.DataFrame([[getattr(r, c) for c in cols] for r in self.rows], columns=cols)
        f["overdue"] = ["; ".join(money.format_money(v, c, self.locale) for c, v in r.overdue.items())
                        for r in self.rows]
        return f

    def to_json(self) -> dict[str, Any]:
        """``{"as_of", "locale", "note", "rows": [{rank, customer_id, name, collector, score, held, action,
        next_action, level, reason, oldest_days, invoices, promise, overdue: {cur: "1.00"},
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


def worklist(ledger: Ledger, as_of: dt.date | str | pd.Timestamp, locale: str | None = None) -> WorklistReport:
    """Customers ranked by whom to contact first (see the module docstring for the rules)."""
    locale = "es" if (locale or ledger.settings.locale) == "es" else "en"
    ts = as_timestamp(as_of)
    day = ts.date()
    items = _open_arrays(ledger, ts, "due_date", full=True)
    group, customers, currencies, g_cust, g_cur = _order(items)
    ng, nc = len(g_cust), len(customers)
    kind, bal, age = items["kind"], items["balance"], items["age"]
    is_inv = kind == KINDS[0]
    disputed = is_inv & (items["status"] == "disputed") & (age >= 0) & (bal > 0)
    chase = is_inv & (items["status"] != "disputed") & (age >= 0) & (bal > 0)
    credit = ~is_inv

    gross = group_sum(group[chase], bal[chase], ng)
    net = gross + group_sum(group[credit], bal[credit], ng)
    outstanding = group_sum(group, bal, ng)
    disp_amt = group_sum(group[disputed], bal[disputed], ng)
    n_chase = np.bincount(g_cust[group[chase]], minlength=nc)
    n_disp = np.bincount(g_cust[group[disputed]], minlength=nc)
    max_age = np.full(ng, -1, dtype=np.int64)
    np.maximum.at(max_age, group[chase], age[chase])
    c_max = np.full(nc, -1, dtype=np.int64)
    np.maximum.at(c_max, g_cust[group[chase]], age[chase])
    c_min = np.full(nc, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(c_min, g_cust[group[chase]], age[chase])
    d_max = np.full(ng, -1, dtype=np.int64)
    np.maximum.at(d_max, group[disputed], age[disputed])

    # Per-currency normalization: the mean chaseable amount of the debtors of each currency.
    ref = np.ones(len(currencies), dtype=np.float64)
    for k in range(len(currencies)):
        owing = net[(g_cur == k) & (net > 0)]
        if len(owing):
            ref[k] = float(owing.mean())

    ref_l = ref.tolist()

    def pair_score(amount: int, oldest: int, k: int) -> float:
        if amount <= 0:
            return 0.0
        s = math.log2(1.0 + amount / ref_l[k]) * (1.0 + min(oldest, AGE_CAP) / 30.0)
        return max(s, OLD_FLOOR) if oldest > OLD_DAYS else s

    # Reminder level reached per customer: the highest over its chaseable invoices of
    # Invoices.reminder_level (as of cobro's last run) and of the Contacts log up to the as-of date.
    ladder = _ladder(ledger)
    rank_of = {lv[0]: i for i, lv in enumerate(ladder)}
    c_level = np.full(nc, -1, dtype=np.int64)
    chase_rows = items["row"][chase]
    if ladder and len(chase_rows):
        codes, uniques = pd.factorize(ledger.invoices["reminder_level"].to_numpy(dtype=object)[chase_rows])
        lv_rank = np.array([rank_of.get(u, -1) for u in uniques.tolist()] + [-1], dtype=np.int64)[codes]
        lv_rank = np.maximum(lv_rank, _levels_from_contacts(ledger, ts, rank_of, items["invoice_id"][chase]))
        np.maximum.at(c_level, g_cust[group[chase]], lv_rank)

    # Customers: name, status, contact data.
    cust = ledger.customers
    cols = [cust[k].to_numpy(dtype=object).tolist() for k in ("name", "status", "email", "phone", "collector",
                                                               "currency")]
    cinfo: dict[str, _Customer] = {}
    for cid, *values in zip(cust["customer_id"].to_numpy(dtype=object).tolist(), *cols, strict=True):
        cinfo.setdefault(cid, _Customer(*values))  # the first row of a duplicated id, as everywhere
    grace = dt.timedelta(days=ledger.settings.promise_grace_days)
    listed = {str(customers[ci]) for ci in np.flatnonzero((n_chase > 0) | (n_disp > 0)).tolist()}
    open_cache: list[set[str]] = []

    def open_ids() -> set[str]:
        if not open_cache:
            open_cache.append(set(items["invoice_id"][is_inv & (bal > 0)].tolist()))
        return open_cache[0]

    promises = _promises(ledger, ts, listed, {k: str(v.currency) for k, v in cinfo.items()}, open_ids)

    groups_of: list[list[int]] = [[] for _ in range(nc)]
    for gi, ci in enumerate(g_cust.tolist()):
        groups_of[ci].append(gi)
    # Plain Python values for the per-customer loop (numpy scalars are slow one at a time).
    cur_of = [str(currencies[k]) for k in g_cur.tolist()]
    g_cur_l, gross_l, net_l, disp_l = g_cur.tolist(), gross.tolist(), net.tolist(), disp_amt.tolist()
    max_age_l, d_max_l, out_l = max_age.tolist(), d_max.tolist(), outstanding.tolist()
    n_chase_l, n_disp_l, c_max_l, c_min_l, c_level_l = (n_chase.tolist(), n_disp.tolist(), c_max.tolist(),
                                                        c_min.tolist(), c_level.tolist())

    out: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for ci in range(nc):
        gs = groups_of[ci]
        if not (n_chase_l[ci] or n_disp_l[ci]):
            continue
        cid = str(customers[ci])
        info = cinfo.get(cid)
        name = str(info.name) if info is not None else ""
        status = str(info.status) if info is not None else "active"
        emails = info.email if info is not None else ()
        phone = str(info.phone) if info is not None else ""
        collector = str(info.collector) if info is not None else ""
        has_email = bool(emails) and any("@" in str(e) for e in emails)
        has_contact = has_email or bool(phone.strip())

        def amounts(values: dict[str, int]) -> str:
            return "; ".join(_money_text(v, c, locale) for c, v in values.items())

        chase_by_cur = {cur_of[g]: net_l[g] for g in gs if gross_l[g] > 0 and net_l[g] > 0}
        covered_by_cur = {cur_of[g]: gross_l[g] for g in gs if gross_l[g] > 0 and net_l[g] <= 0}
        disp_by_cur = {cur_of[g]: disp_l[g] for g in gs if disp_l[g] > 0}
        base = sum(pair_score(net_l[g], max_age_l[g], g_cur_l[g]) for g in gs)
        oldest = c_max_l[ci]
        parts: list[str] = []
        chase_n = n_chase_l[ci]
        if chase_n:
            a, b = c_min_l[ci], oldest
            key = "overdue_1" if chase_n == 1 else ("overdue_n_same" if a == b else "overdue_n")
            parts.append(_t(key, locale, n=chase_n, a=a, b=b,
                            amounts=amounts({cur_of[g]: gross_l[g] for g in gs if gross_l[g] > 0})))
        if n_disp_l[ci]:
            parts.append(_t("disputed_1" if n_disp_l[ci] == 1 else "disputed_n", locale, n=n_disp_l[ci],
                            amounts=amounts(disp_by_cur)))

        # Promise to pay.
        promise = ""
        if cid in promises:
            pdate, kept = promises[cid]
            deadline = pdate + grace
            when = _date(pdate, day, locale)
            if day <= deadline:
                promise = "kept" if kept else "pending"
                parts.append(_t(promise, locale, date=when))
            elif kept:
                if day <= deadline + dt.timedelta(days=KEPT_PROMISE_HOLD_DAYS):
                    promise = "kept"
                    parts.append(_t("kept", locale, date=when))
            elif chase_by_cur:
                promise = "broken"
                parts.append(_t("broken", locale, date=when))

        level = ""
        held = False
        if status in ("paused", "legal", "closed"):
            held, action = True, "on_hold"
            parts.append(_t(status, locale))
        elif not chase_by_cur and covered_by_cur:
            held, action = True, "apply_credit"
            parts.append(_t("covered", locale, amounts=amounts(covered_by_cur)))
        elif not chase_by_cur:
            held, action = True, "review_dispute"
            base = sum(pair_score(disp_l[g], d_max_l[g], g_cur_l[g]) for g in gs)
        elif promise == "pending":
            held, action = True, "wait_promise"
        elif promise == "kept":
            held, action = True, "promise_kept"
        elif promise == "broken":
            action = "chase_promise"
        elif not has_contact:
            action = "fix_contact"
            parts.append(_t("no_contact", locale))
        else:
            action, level = _ladder_action(ladder, c_level_l[ci], oldest)
            if c_level_l[ci] >= 0:
                parts.append(_t("last_level", locale, level=ladder[c_level_l[ci]][0]))
                if ladder[c_level_l[ci]][3]:
                    parts.append(_t("ladder_done", locale))
            if action == "send_reminder" and not has_email:
                action, level = "call", ""
                parts.append(_t("no_email", locale))
        score = base * HELD_FACTOR if held else (base * 1.5 + 2.0 if promise == "broken" else base)
        status_text = _t(status, locale) if status in ("paused", "legal", "closed") else ""
        row = {
            "customer_id": cid, "name": name, "score": score, "held": held, "action": action,
            "next_action": action_label(action, locale, level=level, status=status_text), "level": level,
            "reason": "; ".join(parts), "oldest_days": max([oldest, *(d_max_l[g] for g in gs)]),
            "invoices": chase_n, "overdue": chase_by_cur,
            "outstanding": {cur_of[g]: out_l[g] for g in gs},
            "collector": collector, "promise": promise,
        }
        out.append(((held, -round(score, 9), -row["oldest_days"], cid), row))
    out.sort(key=lambda x: x[0])
    rows = tuple(WorklistItem(rank=i + 1, **r) for i, (_, r) in enumerate(out))
    return WorklistReport(as_of=day, locale=locale, rows=rows, note=_t("note", locale))


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
                          invoice_ids: np.ndarray) -> np.ndarray:
    """Per invoice id: the rank in the ladder of the highest level the Contacts log says it reached
    up to the as-of date (-1: none). As ``cobro.reminders.reminder_levels``: a contact counts when it
    names a level, was not incoming, and did not fail or bounce."""
    c = ledger.contacts
    out = np.full(len(invoice_ids), -1, dtype=np.int64)
    if c.empty or not rank_of or not len(invoice_ids):
        return out
    level = c["level"].to_numpy(dtype=object)
    outcome = c["outcome"].to_numpy(dtype=object)
    keep = ((level != "") & (outcome != "failed") & (outcome != "bounced")
            & (c["direction"].to_numpy(dtype=object) != "in")
            & (c["timestamp"].to_numpy(dtype="datetime64[ns]") < (ts + pd.Timedelta(days=1)).to_datetime64()))
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
