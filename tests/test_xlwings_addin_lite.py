"""xlwings Lite (addin/xlwings_lite/main.py, pasted into the workbook's Python editor), run here on CPython: its
``pyodide.http.pyfetch`` is replaced by a small fetch over urllib to the real cobro service on loopback, and the
workbook by the in-memory xlwings stand-in of tests/test_xlwings_addin.py. Preview, then Send with the confirmed
count: the messages reach the loopback SMTP server once and the Contacts rows land in the stand-in's tables; a
changed plan is refused with nothing sent; the cell functions return numbers."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import types
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.smtp_helpers import SmtpTestServer
from tests.test_officejs import AS_OF, demo_ledger, serve
from tests.test_xlwings_addin import FakeBook

ROOT = Path(__file__).resolve().parent.parent


class _Response:
    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.ok, self._body = status, 200 <= status < 300, body

    async def json(self) -> Any:
        return json.loads(self._body)


async def _pyfetch(url: str, method: str = "GET", body: str | None = None,
                   headers: dict[str, str] | None = None) -> _Response:
    req = urllib.request.Request(url, data=body.encode() if body else None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return _Response(r.status, r.read())
    except urllib.error.HTTPError as e:
        return _Response(e.code, e.read())


@pytest.fixture
def lite(monkeypatch: pytest.MonkeyPatch) -> Any:
    pyodide = types.ModuleType("pyodide")
    http = types.ModuleType("pyodide.http")
    http.pyfetch = _pyfetch  # type: ignore[attr-defined]
    pyodide.http = http  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyodide", pyodide)
    monkeypatch.setitem(sys.modules, "pyodide.http", http)
    spec = importlib.util.spec_from_file_location("cobro_lite_main", ROOT / "addin" / "xlwings_lite" / "main.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    home = tmp_path / "home"
    monkeypatch.setenv("COBRO_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    path = demo_ledger(tmp_path / "cobranza.xlsx")
    with SmtpTestServer() as smtp:
        served, stop = serve(path, home, smtp)
        monkeypatch.setenv("COBRO_URL", served.url)
        monkeypatch.setenv("COBRO_TOKEN", served.token)
        try:
            yield served
        finally:
            stop()


def test_preview_then_send_with_the_confirmed_count(lite: Any, service: Any, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    book = FakeBook(service.path)
    before = len(book.records("Contacts"))
    monkeypatch.setattr(lite, "_body", lambda tables, **extra: {**_orig_body(lite, tables), **extra,
                                                                 "as_of": AS_OF.isoformat()})
    asyncio.run(lite.preview_reminders(book))
    out = capsys.readouterr().out
    count = int(out.split(" reminders today")[0])
    assert count >= 1 and ("EUR" in out or "USD" in out)
    with pytest.raises(RuntimeError, match="plan changed"):  # a stale confirmation sends nothing
        asyncio.run(lite.send_reminders(book, count + 5))
    assert service.smtp.received == [] and book.writes == 0
    asyncio.run(lite.send_reminders(book, count))
    assert "sent" in capsys.readouterr().out
    received = service.smtp.received
    assert received
    contacts = book.records("Contacts")
    assert set(received) <= {c.get("ID mensaje") for c in contacts[before:]}


def _orig_body(lite: Any, tables: dict[str, Any]) -> dict[str, Any]:
    keep = ("key", "title", "header_row", "headers", "rows", "fingerprint")
    return {"tables": [{k: t[k] for k in keep} for t in tables.values()]}


def test_cell_functions_take_the_tables_and_return_numbers(lite: Any, service: Any) -> None:
    import datetime as dt

    book = FakeBook(service.path)
    tables = lite._read(book, ("Invoices", "Customers", "Payments", "Settings"))
    grid = {k: [t["headers"], *t["rows"]] for k, t in tables.items()}
    rows = asyncio.run(lite.cobro_aging(grid["Invoices"], grid["Customers"], grid["Payments"], grid["Settings"],
                                        dt.date(2026, 11, 20)))
    assert rows[0][:3] == ["customer_id", "currency", "not_due"]
    assert all(isinstance(v, float) for r in rows[1:] for v in r[2:])
    k = asyncio.run(lite.cobro_kpis(grid["Invoices"], grid["Customers"], grid["Payments"], grid["Settings"],
                                    dt.date(2026, 11, 20), 3))
    assert k[0][0] == "currency" and isinstance(k[1][1], float)
    with pytest.raises(RuntimeError, match=r"Facturas, fila 1, columna \"Factura\""):  # the service names it
        asyncio.run(lite.cobro_aging([["x"], ["y"]], grid["Customers"], grid["Payments"], grid["Settings"]))


def test_the_service_answers_xlwings_lites_origin_only_when_declared(service: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    client = service.app.test_client()
    headers = {"Origin": "https://addin.xlwings.org", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization, content-type"}
    assert client.options("/api/tables/summary", headers=headers).status_code == 403
    monkeypatch.setenv("COBRO_ALLOWED_ORIGINS", "https://addin.xlwings.org")
    r = client.options("/api/tables/summary", headers=headers)
    assert r.status_code == 204 and r.headers["Access-Control-Allow-Origin"] == "https://addin.xlwings.org"
