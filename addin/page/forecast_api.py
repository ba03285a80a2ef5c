"""The page's Forecast section (issue 14): ``GET /api/page/forecast`` — when the money will come in.

``?as_of=&weeks=&backtest=1``: the weekly expected inflow per currency (``cobro.forecast.forecast``), the open
invoices with their expected date and range (the first ``limit``, default 50, soonest first), and with
``backtest=1`` the walk-forward errors next to the two baselines (``cobro.forecast.backtest``). Served from the
page's parsed ledger (read again only when the file changed), behind the page's token check.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask

forecast_api = Blueprint("page_forecast", __name__, url_prefix="/api/page")


@forecast_api.before_request
def _authenticate() -> None:
    from addin.page.routes import _authenticate as page_check

    page_check()


def _int(text: str, name: str, low: int, high: int) -> int:
    from addin.page.routes import _bad

    if not re.fullmatch(r"\d{1,3}", text.strip()) or not low <= int(text) <= high:
        raise _bad(name, f"{text!r} is not a whole number from {low} to {high}")
    return int(text)


def _compute(led: Any, day: Any, weeks: int, backtest: bool, limit: int) -> dict[str, Any]:
    from cobro import forecast as fc

    facts = fc.facts(led)
    f = fc.forecast(led, day, weeks=weeks, f=facts).to_json()
    f["open_invoices"] = len(f["invoices"])
    f["invoices"] = f["invoices"][:limit]
    if backtest:
        b = fc.backtest(led, day, weeks=weeks, f=facts).to_json()
        b.pop("per_cutoff", None)
        f["backtest"] = b
    return f


@forecast_api.get("/forecast")
def forecast() -> Any:
    """Weekly expected inflow per currency, open invoices' expected dates, optionally the back-test's errors."""
    from addin.page.routes import _args, _date, _served, _state, _today

    args = _args(("as_of", "weeks", "backtest", "limit"))
    as_of = _date(args.get("as_of"), "as_of")
    weeks = _int(args.get("weeks", "13"), "weeks", 1, 104)
    limit = _int(args.get("limit", "50"), "limit", 0, 500)
    backtest = args.get("backtest", "") in ("1", "true", "yes")
    st, served = _state(), _served()
    led = st.ledger(served.path)
    day = as_of or _today(led)
    body = st.computed(served.path, ("forecast", day, weeks, backtest, limit),
                       lambda ld: _compute(ld, day, weeks, backtest, limit))
    return {"ledger": served.name, **body}


def register_forecast(app: Flask) -> None:
    """Add ``/api/page/forecast`` to ``app`` (after ``register_page``, whose state and checks it uses)."""
    app.register_blueprint(forecast_api)
