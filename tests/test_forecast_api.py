"""``GET /api/page/forecast`` (issue 14): the page's Forecast section, behind the page's token check."""

from __future__ import annotations

from pathlib import Path

import pytest

from cobro.demo.generate import DEFAULT_AS_OF, generate_ledger
from server import create_app
from sheets_templates import build_workbook
from sync.tokens import TokenStore


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, str]:
    monkeypatch.setenv("COBRO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    path = tmp_path / "cobranza.xlsx"
    build_workbook(path, locale="es", ledger=generate_ledger(customers=20, invoices=300), as_of=DEFAULT_AS_OF)
    tokens = TokenStore(tmp_path / "home")
    app = create_app({"cobranza": str(path)}, token_store=tokens)
    app.config["COBRO_PAGE_WARM"] = False
    return app.test_client(), tokens.token_for(path)


def test_forecast_json_with_backtest(served: tuple[object, str]) -> None:
    client, token = served
    auth = {"Authorization": f"Bearer {token}"}
    r = client.get(f"/api/page/forecast?as_of={DEFAULT_AS_OF}&weeks=13&backtest=1&limit=5", headers=auth)
    assert r.status_code == 200, r.json
    data = r.json
    assert len(data["weeks"]) == 13 and len(data["invoices"]) == 5 and data["open_invoices"] >= 5
    assert set(data["backtest"]["mae_days"]) == {"model", "due_date", "customer_average"}
    r = client.get(f"/api/page/forecast?as_of={DEFAULT_AS_OF}&weeks=4", headers=auth)
    assert r.status_code == 200 and len(r.json["weeks"]) == 4 and "backtest" not in r.json


def test_forecast_refuses_bad_input_and_missing_token(served: tuple[object, str]) -> None:
    client, token = served
    assert client.get("/api/page/forecast").status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    r = client.get("/api/page/forecast?weeks=0", headers=auth)
    assert r.status_code == 400 and "weeks" in str(r.json)
    assert client.get("/api/page/forecast?foo=1", headers=auth).status_code == 400
