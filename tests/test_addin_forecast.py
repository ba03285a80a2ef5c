"""=COBRO.FORECAST and the service's cache of posted tables (issues 10 and 14).

- ``POST /api/tables/forecast``: the weekly expected cash-in per currency of posted tables, exact decimal text,
  equal to ``cobro.forecast`` on the same ledger; a table sent by fingerprint only is the one sent before; one the
  service does not hold is a 409 naming it (``resend``); a changed table is never answered from the cache.
- The bulk reading of JSON amounts gives the same ledger as the exact one, and refuses what it refused.
- The desktop UDF's logic (``addin.xlwings.actions.forecast_cells``) on the xlwings stand-in, and xlwings Lite's
  ``cobro_forecast`` against the real service.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cobro import money
from cobro.demo.generate import generate_ledger
from sheets_templates import build_workbook
from tests.test_server import AS_OF, Api, make_api, schema_check
from tests.test_table_store import host_tables, wire
from tests.test_xlwings_addin_lite import lite, service  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("isolated_env")  # the conftest's: nothing touches the real home

KEYS = ("Settings", "Customers", "Invoices", "Payments", "Contacts")


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fc") / "demo.xlsx"
    led = generate_ledger(customers=12, invoices=150, seed=7, locale="es", as_of=AS_OF)
    build_workbook(path, locale="es", ledger=led, as_of=AS_OF)
    return path


@pytest.fixture
def demo_api(demo_book: Path, tmp_path: Path, isolated_env: Path) -> Api:
    path = tmp_path / "demo.xlsx"
    path.write_bytes(demo_book.read_bytes())
    return make_api(path, isolated_env)


def body_of(path: Path, **extra: Any) -> dict[str, Any]:
    from sync.table_store import table_fingerprint

    tables = {k: t for k, t in host_tables(path).items() if k in KEYS}
    body = json.loads(json.dumps(wire(tables, **extra), default=float))
    for t in body["tables"]:
        t["fingerprint"] = table_fingerprint(t["headers"], t["rows"], t["header_row"])
    return body


def references(body: dict[str, Any], *, but: str = "") -> dict[str, Any]:
    """The body with every table (but ``but``) sent by its fingerprint only."""
    out = copy.deepcopy(body)
    out["tables"] = [t if t["key"] == but else {"key": t["key"], "fingerprint": t["fingerprint"]}
                     for t in out["tables"]]
    return out


def test_the_forecast_route_is_cobro_forecast_of_the_posted_tables(demo_api: Api) -> None:
    from cobro import forecast as fc
    from sync.xlsx_store import XlsxStore

    r = demo_api.post("/api/tables/forecast", body_of(demo_api.path, as_of=AS_OF.isoformat(), weeks=8))
    assert r.status_code == 200, r.json
    schema_check(r.json, "TablesForecast")
    f = fc.forecast(XlsxStore(demo_api.path).load(), AS_OF, weeks=8)
    assert r.json["currencies"] == sorted(f.inflow)
    assert len(r.json["weeks"]) == 8 and r.json["weeks"][0]["start"] == "2026-11-21"
    assert r.json["weeks"][0]["end"] == "2026-11-27" and r.json["later_from"] == "2027-01-16"
    for cur, per_week in f.inflow.items():
        # exact decimal text of the currency's minor units, never a float's digits; currencies never added
        assert [w["inflow"][cur] for w in r.json["weeks"]] == [money.format_decimal(v, cur) for v in per_week]
        assert r.json["later"][cur] == money.format_decimal(f.later[cur], cur)
    assert r.json["open_invoices"] == len(f.invoices) and r.json["writes"] == {"tables": {}, "edits": []}
    bad = demo_api.post("/api/tables/forecast", body_of(demo_api.path, weeks=0))
    assert bad.status_code == 400 and bad.json["field"] == "weeks"


def test_tables_by_fingerprint_are_the_ones_sent_and_a_change_is_never_answered_from_the_cache(
        demo_api: Api, isolated_env: Path) -> None:
    from sync.table_store import table_fingerprint

    body = body_of(demo_api.path, as_of=AS_OF.isoformat())
    first = demo_api.post("/api/tables/summary", body)
    assert first.status_code == 200, first.json
    again = demo_api.post("/api/tables/summary", references(body))
    assert again.status_code == 200 and again.json == first.json
    # Forecast of the same tables, by reference: the service parses nothing again
    fc = demo_api.post("/api/tables/forecast", references(body))
    assert fc.status_code == 200 and fc.json["fingerprints"] == first.json["fingerprints"]
    # A payment recorded in full for an invoice without any: Payments is sent whole, the rest by reference
    changed = copy.deepcopy(body)
    pay = next(t for t in changed["tables"] if t["key"] == "Payments")
    inv = next(t for t in changed["tables"] if t["key"] == "Invoices")
    col = {h: i for i, h in enumerate(inv["headers"])}
    pcol = {h: i for i, h in enumerate(pay["headers"])}
    paid = {r[pcol["Factura"]] for r in pay["rows"]}
    statuses = [r[col["Estado"]] for r in inv["rows"]]
    usual = max(set(statuses), key=statuses.count)  # open
    open_row = next(r for r in inv["rows"] if r[col["Factura"]] not in paid and r[col["Estado"]] == usual
                    and Decimal(str(r[col["Importe"]])) > 0)
    row: list[Any] = [""] * len(pay["headers"])
    row[pcol["ID pago"]] = "P-TEST-1"
    row[pcol["Fecha"]] = (AS_OF - dt.date(1899, 12, 30)).days
    row[pcol["ID cliente"]] = open_row[col["ID cliente"]]
    row[pcol["Factura"]] = open_row[col["Factura"]]
    row[pcol["Importe"]] = open_row[col["Importe"]]
    pay["rows"].append(row)
    pay["fingerprint"] = table_fingerprint(pay["headers"], pay["rows"], pay["header_row"])
    after = demo_api.post("/api/tables/summary", references(changed, but="Payments"))
    assert after.status_code == 200, after.json
    assert after.json["fingerprints"]["Payments"] == pay["fingerprint"]
    cust = open_row[col["ID cliente"]]
    before_row = next(x for x in first.json["aging"]["rows"] if x["customer_id"] == cust)
    after_row = next((x for x in after.json["aging"]["rows"] if x["customer_id"] == cust), None)
    assert after_row is None or after_row["outstanding"] != before_row["outstanding"]
    # A fingerprint the service never got: 409 naming the table, the host sends it whole
    unknown = references(body)
    unknown["tables"][2]["fingerprint"] = "sha256:" + "0" * 64
    r = demo_api.post("/api/tables/summary", unknown)
    assert r.status_code == 409 and r.json["resend"] == [unknown["tables"][2]["key"]], r.json
    schema_check(r.json, "Error")
    # Another service (another process) holds nothing: the host is told to send the tables whole
    other = make_api(demo_api.path, isolated_env)
    assert sorted(other.post("/api/tables/summary", references(body)).json["resend"]) == sorted(KEYS)


def test_json_amounts_read_in_bulk_give_the_exact_ledger_and_refuse_what_is_not_exact(demo_book: Path) -> None:
    import pandas as pd

    import sync.table_store as ts

    tables = {k: t for k, t in host_tables(demo_book).items()}
    fast = ts.TableStore(wire(tables)).load()
    exact_only = ts._money_digits
    try:
        ts._money_digits = lambda tables: -1  # type: ignore[assignment]
        slow = ts.TableStore(wire(tables)).load()
    finally:
        ts._money_digits = exact_only
    for name in ("customers", "invoices", "payments", "contacts"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(slow, name))
    # sub-cent and huge amounts take the exact path and are refused as before
    assert ts._money_cell(Decimal("12.345"), Decimal("0.01")) == Decimal("12.345")
    assert ts._money_cell(Decimal("1E+13"), Decimal("0.01")) == Decimal("1E+13")
    assert ts._money_cell(Decimal("1250.10"), Decimal("0.01")) == 1250.1
    assert ts._money_cell(Decimal("1250.1"), Decimal("1")) == Decimal("1250.1")  # a currency without cents
    body = wire(tables)
    inv = next(t for t in body["tables"] if t["key"] == "Invoices")
    inv["rows"][0][inv["headers"].index("Importe")] = Decimal("10000000.005")
    with pytest.raises(Exception) as e:
        ts.TableStore(body).load()
    assert "Importe" in str(getattr(e.value, "problems", e.value)) or e.value.__class__.__name__ == "LedgerError"


def test_the_desktop_udf_spills_weeks_per_currency_and_one_amount(tmp_path: Path, isolated_env: Path) -> None:
    from addin.xlwings.actions import forecast_cells
    from tests.test_officejs import demo_ledger
    from tests.test_xlwings_addin import FakeBook

    book = FakeBook(demo_ledger(tmp_path / "cobranza.xlsx", invoices=120, customers=10))
    rows = forecast_cells(book, dt.datetime(2026, 11, 20), "EUR")
    assert rows[0] == ["week", "start", "end", "currency", "expected"]
    assert len(rows) == 1 + 13 + 1 and rows[-1][0] == "later" and rows[1][1] == dt.date(2026, 11, 21)
    assert all(r[3] == "EUR" and isinstance(r[4], float) for r in rows[1:])
    assert book.tables_read() == {"Settings", "Customers", "Invoices", "Payments", "Contacts"}
    week2 = forecast_cells(book, AS_OF, "eur", 2.0)
    assert week2 == [[rows[2][4]]]
    assert forecast_cells(book, AS_OF, "", 3, 4)[1][:4] == [3, dt.date(2026, 12, 5), dt.date(2026, 12, 11), "EUR"]
    with pytest.raises(ValueError, match="week"):
        forecast_cells(book, AS_OF, "EUR", 14)


def test_xlwings_lite_forecast_against_the_service(lite: Any, service: Any) -> None:  # noqa: F811
    from tests.test_xlwings_addin import FakeBook

    book = FakeBook(service.path)
    tables = lite._read(book, ("Invoices", "Customers", "Payments", "Settings", "Contacts"))
    grid = {k: [t["headers"], *t["rows"]] for k, t in tables.items()}
    args = (grid["Invoices"], grid["Customers"], grid["Payments"], grid["Settings"])
    rows = asyncio.run(lite.cobro_forecast(*args, dt.date(2026, 11, 20), "EUR", 0, 13, grid["Contacts"]))
    assert rows[0] == ["week", "start", "end", "currency", "expected"] and rows[-1][0] == "later"
    assert all(isinstance(r[4], float) for r in rows[1:])
    one = asyncio.run(lite.cobro_forecast(*args, dt.date(2026, 11, 20), "EUR", 1, 13, grid["Contacts"]))
    assert one == [[rows[1][4]]]
