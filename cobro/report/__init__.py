"""The collections report's numbers (pure): how we are doing, what the team did, what to do next.

Frames in, values out: no clock, no file. Hosts (``cobro_cli/report.py``, ``sync/report_files.py``) turn a
``CollectionsReport`` into HTML or PDF. Every figure of the aging and the KPIs comes from ``cobro.aging.aging``
and ``cobro.kpis.kpis`` (the functions behind ``cobro aging``/``cobro kpis``), the accounts to act on from
``cobro.worklist.worklist``; the trend recomputes them at each month end from the ledger's own dates.

Amounts are integer minor units per currency; nothing is summed across currencies.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import money
from ..aging import AgingReport, aging
from ..balances import as_timestamp
from ..forecast import Backtest, Forecast, facts, promises_kept
from ..i18n import text
from ..kpis import KpiReport, kpis
from ..ledger import Ledger
from ..worklist import WorklistReport, worklist

TOP_DEBTORS = 10
CONCENTRATION_TOP = 5
PAID_WITHIN_DAYS = 7
KPI_NAMES = ("dso", "countback_dso", "best_dso", "add", "cei")


def month_ends(as_of: dt.date, months: int) -> list[dt.date]:
    """The ``months`` month ends of the trend, oldest first; the last is ``as_of`` itself (the month so far)."""
    out = [as_of]
    first = as_of.replace(day=1)
    for _ in range(months - 1):
        end = first - dt.timedelta(days=1)
        out.append(end)
        first = end.replace(day=1)
    return out[::-1]


@dataclass(frozen=True)
class Recommendation:
    """One concrete action: its kind, what to do, why (with the numbers), and whom it concerns."""

    kind: str  # escalate, credit_limit, ladder_level, broken_promise, no_email, write_off
    action: str
    reason: str
    customers: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "action": self.action, "reason": self.reason, "customers": list(self.customers)}


@dataclass(frozen=True)
class CollectionsReport:
    """Everything the report shows; see ``build`` for how each part is computed."""

    as_of: dt.date
    months: int
    kpi_months: int
    locale: str
    period_start: dt.date
    aging: AgingReport
    kpis: KpiReport
    trend_dates: tuple[dt.date, ...]
    aging_trend: dict[str, pd.DataFrame]  # currency -> one row per month end: not_due, bucket labels, total_due
    kpi_trend: dict[str, pd.DataFrame]  # currency -> one row per month end: dso, countback_dso, best_dso, add, cei
    top_debtors: dict[str, pd.DataFrame]  # currency -> customer_id, name, total_due, outstanding, oldest bucket
    concentration: dict[str, tuple[int, int]]  # currency -> (overdue of the top 5, all overdue)
    flows: dict[str, pd.DataFrame]  # currency -> month, invoiced, collected
    contacts: pd.DataFrame  # channel x outcome counts in the period
    per_user: pd.DataFrame  # user, contacts, calls, promises, kept
    promises: dict[str, int]  # made, kept, broken, pending
    broken: pd.DataFrame  # customer_id, logged, promise_date, amount, currency
    levels: pd.DataFrame  # level, reminders, invoices, paid_within (within PAID_WITHIN_DAYS), share (%)
    worklist: WorklistReport
    recommendations: tuple[Recommendation, ...]
    forecast: Forecast | None = None
    backtest: Backtest | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.aging.totals.index.astype(str)) | set(self.flows))

    def to_json(self) -> dict[str, Any]:
        """The report's figures for machines (amounts as decimal strings)."""
        def amounts(frame: pd.DataFrame, cur: str, cols: list[str]) -> list[dict[str, Any]]:
            out = []
            for r in frame.to_dict("records"):
                out.append({k: (money.format_decimal(int(v), cur) if k in cols else
                                (v.isoformat() if isinstance(v, dt.date) else v)) for k, v in r.items()})
            return out

        labels = ["not_due", *self.aging.labels, "total_due"]
        return {
            "as_of": self.as_of.isoformat(), "months": self.months, "locale": self.locale,
            "aging": self.aging.totals_json(), "kpis": self.kpis.to_json(),
            "aging_trend": {c: amounts(f, c, labels) for c, f in self.aging_trend.items()},
            "kpi_trend": {c: [{k: (v.isoformat() if isinstance(v, dt.date) else (None if v is None else str(v)))
                               for k, v in r.items()} for r in f.to_dict("records")]
                          for c, f in self.kpi_trend.items()},
            "top_debtors": {c: amounts(f, c, ["total_due", "outstanding"]) for c, f in self.top_debtors.items()},
            "concentration": {c: {"top": money.format_decimal(t, c), "overdue": money.format_decimal(a, c),
                                  "share_pct": share(t, a)} for c, (t, a) in self.concentration.items()},
            "flows": {c: amounts(f, c, ["invoiced", "collected"]) for c, f in self.flows.items()},
            "contacts": self.contacts.reset_index().to_dict("records"),
            "per_user": self.per_user.to_dict("records"), "promises": self.promises,
            "levels": self.levels.to_dict("records"),
            "recommendations": [r.to_json() for r in self.recommendations],
            "forecast": None if self.forecast is None else {
                "weeks": self.forecast.to_json()["weeks"], "later": self.forecast.to_json()["later"]},
            "backtest": None if self.backtest is None else {
                k: v for k, v in self.backtest.to_json().items() if k != "per_cutoff"},
        }


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in %, one decimal (None when ``whole`` is not positive)."""
    return round(100.0 * part / whole, 1) if whole > 0 else None


def pct(value: float | None, locale: str) -> str:
    """A percentage as people write it (``20,8`` in Spanish); ``–`` when undefined."""
    if value is None:
        return "–"
    t = f"{value:.1f}"
    return t.replace(".", ",") if locale == "es" else t


def _t(key: str, locale: str, **kw: object) -> str:
    return text(f"report.{key}", locale, **kw)


def _money(minor: int, currency: str, locale: str) -> str:
    return money.format_money(int(minor), currency, locale)


# ----------------------------------------------------------------------------------- build


def build(ledger: Ledger, as_of: dt.date | str | pd.Timestamp, months: int = 12, kpi_months: int = 3,
          locale: str | None = None, forecast: Forecast | None = None, backtest: Backtest | None = None
          ) -> CollectionsReport:
    """The report as of ``as_of`` over the last ``months`` months (the trend has one point per month end, the
    last being ``as_of``); KPIs over ``kpi_months`` months at each point, as ``cobro kpis --months`` computes
    them. ``forecast``/``backtest`` (``cobro.forecast``) are shown when given."""
    if months < 1:
        raise ValueError(f"months must be 1 or more, not {months}")
    locale = "es" if (locale or ledger.settings.locale) == "es" else "en"
    day = as_timestamp(as_of).date()
    ends = month_ends(day, months)
    start = (ends[0].replace(day=1) if months > 1 else day.replace(day=1))
    ag = aging(ledger, day)
    kp = kpis(ledger, day, months=kpi_months, locale=locale)
    wl = worklist(ledger, day, locale=locale)
    labels = ["not_due", *ag.labels, "total_due"]

    # trend: the same functions at every month end
    aging_rows: dict[str, list[dict[str, Any]]] = {}
    kpi_rows: dict[str, list[dict[str, Any]]] = {}
    for end in ends:
        a = ag if end == day else aging(ledger, end)
        for cur, t in a.totals.iterrows():
            aging_rows.setdefault(str(cur), []).append({"date": end, **{k: int(t[k]) for k in labels}})
        k = kp if end == day else kpis(ledger, end, months=kpi_months, locale=locale)
        for c in k.currencies:
            kpi_rows.setdefault(c.currency, []).append({"date": end, **{n: getattr(c, n) for n in KPI_NAMES}})
    aging_trend = {c: _fill(pd.DataFrame(r), ends, labels) for c, r in aging_rows.items()}
    kpi_trend = {c: pd.DataFrame(r) for c, r in kpi_rows.items()}

    # top debtors and concentration, from the aging's rows
    names = dict(zip(ledger.customers["customer_id"].tolist(), ledger.customers["name"].tolist(), strict=True))
    top: dict[str, pd.DataFrame] = {}
    conc: dict[str, tuple[int, int]] = {}
    fr = ag.frame
    for cur in sorted(set(fr["currency"].astype(str))):
        f = fr[(fr["currency"] == cur) & (fr["total_due"] > 0)].sort_values(
            ["total_due", "customer_id"], ascending=[False, True], kind="stable")
        h = f.head(TOP_DEBTORS)
        top[cur] = pd.DataFrame({
            "customer_id": h["customer_id"].astype(str).to_numpy(),
            "name": [names.get(c, "") for c in h["customer_id"]],
            "total_due": h["total_due"].to_numpy(dtype=np.int64),
            "outstanding": h["outstanding"].to_numpy(dtype=np.int64),
            "oldest": [next((lab for lab in reversed(ag.labels) if r[lab] > 0), "") for _, r in h.iterrows()]})
        conc[cur] = (int(f["total_due"].head(CONCENTRATION_TOP).sum()), int(f["total_due"].sum()))

    flows = _flows(ledger, start, day)
    contacts, per_user, prom, broken, levels = _work(ledger, start, day)
    recs = _recommend(ledger, ag, wl, levels, broken, locale)
    return CollectionsReport(
        as_of=day, months=months, kpi_months=kpi_months, locale=locale, period_start=start, aging=ag, kpis=kp,
        trend_dates=tuple(ends), aging_trend=aging_trend, kpi_trend=kpi_trend, top_debtors=top,
        concentration=conc, flows=flows, contacts=contacts, per_user=per_user, promises=prom, broken=broken,
        levels=levels, worklist=wl, recommendations=tuple(recs), forecast=forecast, backtest=backtest)


def _fill(frame: pd.DataFrame, ends: list[dt.date], labels: list[str]) -> pd.DataFrame:
    """One row per month end (zeros where the currency had nothing open)."""
    base = pd.DataFrame({"date": ends})
    out = base.merge(frame, on="date", how="left")
    for k in labels:
        out[k] = out[k].fillna(0).astype(np.int64)
    return out


def _month_index(days: np.ndarray) -> np.ndarray:
    d = days.astype("datetime64[D]")
    return d.astype("datetime64[M]").astype(np.int64)


def _flows(ledger: Ledger, start: dt.date, day: dt.date) -> dict[str, pd.DataFrame]:
    """Per currency and calendar month of the period: invoiced (invoices and credit notes issued, cancelled ones
    left out — the KPIs' credit sales) and collected (payments dated in the month)."""
    inv, pay = ledger.invoices, ledger.payments
    lo, hi = np.datetime64(start, "D"), np.datetime64(day, "D")
    m0 = int(np.datetime64(start, "M").astype(np.int64))
    nm = int(np.datetime64(day, "M").astype(np.int64)) - m0 + 1
    idate = inv["issue_date"].to_numpy(dtype="datetime64[D]")
    keep = (idate >= lo) & (idate <= hi) & (inv["status"].to_numpy(dtype=object) != "cancelled")
    pdate = pay["date"].to_numpy(dtype="datetime64[D]")
    pkeep = (pdate >= lo) & (pdate <= hi)
    out: dict[str, pd.DataFrame] = {}
    icur = inv["currency"].to_numpy(dtype=object)
    pcur = pay["currency"].to_numpy(dtype=object)
    curs = sorted(set(icur[keep].tolist()) | set(pcur[pkeep].tolist()))
    months = [(np.datetime64(m0 + k, "M")).astype(dt.date) for k in range(nm)]
    for cur in curs:
        a = keep & (icur == cur)
        b = pkeep & (pcur == cur)
        invoiced = np.zeros(nm, dtype=np.int64)
        np.add.at(invoiced, _month_index(idate[a]) - m0, inv["amount"].to_numpy(dtype=np.int64)[a])
        collected = np.zeros(nm, dtype=np.int64)
        np.add.at(collected, _month_index(pdate[b]) - m0, pay["amount"].to_numpy(dtype=np.int64)[b])
        out[str(cur)] = pd.DataFrame({"month": months, "invoiced": invoiced, "collected": collected})
    return out


def _work(ledger: Ledger, start: dt.date, day: dt.date
          ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int], pd.DataFrame, pd.DataFrame]:
    """The team's work in the period: contacts by channel and outcome, per user, promises, reminder levels."""
    con = ledger.contacts
    ts = con["timestamp"].to_numpy(dtype="datetime64[D]")
    inside = (ts >= np.datetime64(start, "D")) & (ts <= np.datetime64(day, "D"))
    c = con[inside]
    channel = c["channel"].astype(str).replace("", "other")
    outcome = c["outcome"].astype(str).replace("", "note")
    contacts = pd.crosstab(channel, outcome) if len(c) else pd.DataFrame()
    # promises: kept = the customer's payments from the day it was logged to its date cover it (cobro.forecast)
    rows = np.flatnonzero(inside & (con["outcome"].to_numpy(dtype=object) == "promise"))
    kept = promises_kept(ledger, rows)
    pdate = con["promise_date"].to_numpy(dtype="datetime64[D]")[rows]
    due_passed = pdate < np.datetime64(day, "D")  # a promise due today may still be kept today
    grace = np.timedelta64(int(ledger.settings.promise_grace_days), "D")
    broken_mask = ~kept & (pdate + grace < np.datetime64(day, "D"))
    prom = {"made": len(rows), "kept": int(kept.sum()), "broken": int(broken_mask.sum()),
            "pending": int((~kept & ~due_passed).sum())}
    pr = con.iloc[rows[broken_mask]]
    broken = pd.DataFrame({"customer_id": pr["customer_id"].astype(str).to_numpy(),
                           "logged": pr["timestamp"].dt.date.to_numpy(),
                           "promise_date": pr["promise_date"].dt.date.to_numpy(),
                           "amount": pr["promise_amount"].to_numpy(dtype="float64", na_value=0.0).astype(np.int64),
                           "user": pr["user"].astype(str).to_numpy()})
    user = c["user"].astype(str).replace("", "—")
    is_prom = (c["outcome"] == "promise").to_numpy()
    kept_all = np.zeros(len(c), dtype=bool)
    kept_all[np.searchsorted(np.flatnonzero(inside), rows)] = kept
    per_user = (pd.DataFrame({"user": user.to_numpy(), "contacts": 1,
                              "calls": (c["channel"] == "phone").to_numpy().astype(int),
                              "reminders": (c["level"].astype(str) != "").to_numpy().astype(int),
                              "promises": is_prom.astype(int), "kept": (kept_all & is_prom).astype(int)})
                .groupby("user", sort=True).sum().reset_index()) if len(c) else \
        pd.DataFrame(columns=["user", "contacts", "calls", "reminders", "promises", "kept"])
    named = _named(ledger, c)
    levels = _levels(ledger, c, named)
    if len(per_user):
        # per user: the invoices their contacts named (outgoing, delivered or reached) paid within the days
        ok = (c["direction"].astype(str) != "in").to_numpy() & ~c["outcome"].isin(["failed", "bounced"]).to_numpy()
        e = named[ok[named["contact"].to_numpy()]] if len(named) else named
        users = user.to_numpy()[e["contact"].to_numpy()] if len(e) else np.array([], dtype=object)
        g = pd.DataFrame({"user": users, "n": 1, "p": e["paid"].to_numpy()}).groupby("user").sum() if len(e) \
            else pd.DataFrame(columns=["n", "p"])
        n = per_user["user"].map(g["n"]).fillna(0).astype(np.int64)
        p = per_user["user"].map(g["p"]).fillna(0).astype(np.int64)
        per_user["invoices"] = n.to_numpy()
        per_user["paid_within"] = p.to_numpy()
        per_user["share"] = [share(int(a), int(b)) for a, b in zip(p, n, strict=True)]
    return contacts, per_user, prom, broken, levels


def _named(ledger: Ledger, c: pd.DataFrame) -> pd.DataFrame:
    """One row per (contact, invoice it names): ``contact`` (position in ``c``), ``row`` (invoice row), ``day``,
    and ``paid``: settled in full within ``PAID_WITHIN_DAYS`` days of the contact (as ``cobro.forecast`` defines
    settled)."""
    inv_row: dict[str, int] = {}
    for i, v in enumerate(ledger.invoices["invoice_id"].tolist()):
        inv_row.setdefault(v, i)
    pos, day, row = [], [], []
    days = c["timestamp"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    for k, ids in enumerate(c["invoice_ids"].tolist()):
        for i in ids or ():
            r = inv_row.get(i)
            if r is not None:
                pos.append(k)
                day.append(days[k])
                row.append(r)
    e = pd.DataFrame({"contact": np.asarray(pos, dtype=np.int64), "day": np.asarray(day, dtype=np.int64),
                      "row": np.asarray(row, dtype=np.int64)})
    settled = facts(ledger).settled[e["row"].to_numpy()] if len(e) else np.zeros(0, np.int64)
    e["paid"] = (settled >= e["day"]) & (settled <= e["day"] + PAID_WITHIN_DAYS)
    return e


def _levels(ledger: Ledger, c: pd.DataFrame, named: pd.DataFrame) -> pd.DataFrame:
    """Per reminder level: reminders sent, the invoices they named, and how many of those were paid in full within
    ``PAID_WITHIN_DAYS`` days of the reminder (``named``: ``_named``'s rows for the contacts ``c``)."""
    is_sent = ((c["level"].astype(str) != "") & c["outcome"].isin(["sent", "reached"])).to_numpy()
    sent = c[is_sent]
    order = {str(lv): i for i, lv in enumerate(ledger.levels["level"].tolist())} if len(ledger.levels) else {}
    cols = ["level", "reminders", "invoices", "paid_within", "share"]
    if not len(sent):
        return pd.DataFrame(columns=cols)
    e = named[is_sent[named["contact"].to_numpy()]] if len(named) else named
    e = e.assign(level=c["level"].astype(str).to_numpy()[e["contact"].to_numpy()] if len(e) else [])
    counts = sent.groupby(sent["level"].astype(str)).size()
    g = e.groupby("level").agg(invoices=("row", "size"), paid_within=("paid", "sum")) if len(e) else \
        pd.DataFrame(columns=["invoices", "paid_within"])
    out = pd.DataFrame({"level": counts.index.astype(str), "reminders": counts.to_numpy(dtype=np.int64)})
    out = out.merge(g.reset_index(), on="level", how="left").fillna({"invoices": 0, "paid_within": 0})
    out["invoices"] = out["invoices"].astype(np.int64)
    out["paid_within"] = out["paid_within"].astype(np.int64)
    out["share"] = [share(int(p), int(n)) for p, n in zip(out["paid_within"], out["invoices"], strict=True)]
    out["_o"] = [order.get(x, 999) for x in out["level"]]
    return out.sort_values(["_o", "level"]).drop(columns="_o").reset_index(drop=True)[cols]


# ----------------------------------------------------------------------------------- recommendations


def _names(ids: list[str], limit: int = 8) -> str:
    return ", ".join(ids[:limit]) + (f" (+{len(ids) - limit})" if len(ids) > limit else "")


def _recommend(ledger: Ledger, ag: AgingReport, wl: WorklistReport, levels: pd.DataFrame, broken: pd.DataFrame,
               locale: str) -> list[Recommendation]:
    """Concrete actions, each with its reason and numbers (see the module docstring of ``cobro.report``)."""
    recs: list[Recommendation] = []
    cus = ledger.customers.set_index("customer_id", drop=False) if len(ledger.customers) else ledger.customers
    rows = [r for r in wl.rows if not r.held]
    # 1. escalate: more than 90 days overdue and still chased by e-mail → a call; beyond 180 days → legal
    legal = [r for r in rows if r.oldest_days > 180]
    call = [r for r in rows if 90 < r.oldest_days <= 180 and r.action not in ("call", "chase_promise")]
    for group, kind in ((legal, "escalate_legal"), (call, "escalate_call")):
        if group:
            amounts = _per_currency(group, "overdue", locale)
            recs.append(Recommendation(kind, _t(f"rec.{kind}", locale, n=len(group)),
                                       _t(f"why.{kind}", locale, names=_names([r.customer_id for r in group]),
                                          amounts=amounts), tuple(r.customer_id for r in group)))
    # 2. over the credit limit (the limit is in the customer's currency)
    over = []
    if len(cus) and "credit_limit" in cus:
        fr = ag.frame
        for cid, cur, out in zip(fr["customer_id"], fr["currency"], fr["outstanding"], strict=True):
            if cid not in cus.index:
                continue
            lim = cus.at[cid, "credit_limit"]
            ccur = cus.at[cid, "currency"] or ledger.settings.base_currency
            if pd.notna(lim) and int(lim) > 0 and ccur == cur and int(out) > int(lim):
                over.append(f"{cid} ({_money(int(out), cur, locale)} / {_money(int(lim), cur, locale)})")
    if over:
        recs.append(Recommendation("credit_limit", _t("rec.credit_limit", locale, n=len(over)),
                                   _t("why.credit_limit", locale, items=_names(over, 6)),
                                   tuple(o.split(" ")[0] for o in over)))
    # 3. a ladder level that does not work: paid-within share under half the best level's, on enough invoices
    # only levels after the due date compare (a reminder before it names invoices nobody is late with yet)
    after_due = {str(r.level) for r in ledger.levels.itertuples() if pd.notna(r.days) and int(r.days) > 0} \
        if len(ledger.levels) else set()
    lv = levels[(levels["invoices"] >= 20) & levels["level"].isin(after_due)] if len(levels) else levels
    if len(lv) >= 2:
        best = lv.loc[lv["share"].astype(float).idxmax()]
        for _, r in lv.iterrows():
            if r["share"] is not None and best["share"] and float(r["share"]) < float(best["share"]) / 2:
                recs.append(Recommendation("ladder_level", _t("rec.ladder_level", locale, level=r["level"]),
                                           _t("why.ladder_level", locale, level=r["level"],
                                              share=pct(r["share"], locale), n=int(r["invoices"]),
                                              days=PAID_WITHIN_DAYS, best=best["level"],
                                              best_share=pct(best["share"], locale))))
    # 4. broken promises still owing
    owing = {r.customer_id for r in wl.rows if r.overdue}
    b = broken[broken["customer_id"].isin(owing)] if len(broken) else broken
    if len(b):
        ids = sorted(set(b["customer_id"]))
        recs.append(Recommendation("broken_promise", _t("rec.broken_promise", locale, n=len(ids)),
                                   _t("why.broken_promise", locale, n=len(b), names=_names(ids)), tuple(ids)))
    # 5. owing customers with no e-mail: no reminder can reach them
    if len(cus):
        no_mail = [r.customer_id for r in rows if r.customer_id in cus.index
                   and not tuple(cus.at[r.customer_id, "email"] or ())]
        if no_mail:
            recs.append(Recommendation("no_email", _t("rec.no_email", locale, n=len(no_mail)),
                                       _t("why.no_email", locale, names=_names(no_mail)), tuple(no_mail)))
    # 6. residuals to write off (the worklist's write_off action: below the write-off tolerance)
    wo = [r for r in wl.rows if r.action == "write_off"]
    if wo:
        recs.append(Recommendation("write_off", _t("rec.write_off", locale, n=len(wo)),
                                   _t("why.write_off", locale, names=_names([r.customer_id for r in wo]),
                                      amounts=_per_currency(wo, "outstanding", locale)),
                                   tuple(r.customer_id for r in wo)))
    return recs


def _per_currency(rows: list[Any], attr: str, locale: str) -> str:
    tot: dict[str, int] = {}
    for r in rows:
        for cur, v in getattr(r, attr).items():
            tot[cur] = tot.get(cur, 0) + int(v)
    return "; ".join(_money(v, c, locale) for c, v in sorted(tot.items()))


def backtest_sentence(b: Backtest, locale: str) -> str:
    """The forecast's measured error in one sentence a manager reads (``report.backtest``)."""
    imp = b.improvement()
    return _t("backtest", locale, n=len(b.cutoffs), count=b.evaluated, model=pct(b.mae_days["model"], locale),
              due=pct(b.mae_days["due_date"], locale), avg=pct(b.mae_days["customer_average"], locale),
              better_due=pct(imp["due_date"], locale), better_avg=pct(imp["customer_average"], locale),
              acc=pct(b.accuracy["model"], locale))


def month_label(day: dt.date, locale: str) -> str:
    """``2026-03`` style short label of a month (``mar 26`` / ``Mar 26``)."""
    names = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic") if locale == "es" \
        else tuple(calendar.month_abbr[1:])
    return f"{names[day.month - 1]} {day.year % 100:02d}"


__all__ = ["CollectionsReport", "Recommendation", "build", "month_ends", "share"]
