"""Shared fixtures: a small hand-made ledger workbook (as a user might build it) and paths."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def write_user_workbook(path: Path, locale: str = "es") -> Path:
    """A ledger made by hand: Excel tables, an extra user column with a formula, a number format."""
    import xlsxwriter

    from cobro.schema import CONTACTS, CUSTOMERS, INVOICES, LEVELS, MATCHES, PAYMENTS, PLANS, TEMPLATES

    wb = xlsxwriter.Workbook(str(path))
    money_fmt = wb.add_format({"num_format": "#,##0.00"})
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})

    def table(spec, rows, extra=None, formats=None):
        ws = wb.add_worksheet(spec.title(locale))
        headers = [c.header(locale) for c in spec.columns] + [h for h, _ in (extra or [])]
        data = rows or [[None] * (len(headers) - len(extra or []))]
        cols = [{"header": h} for h in headers[: len(spec.columns)]]
        for h, formula in extra or []:
            cols.append({"header": h, "formula": formula})
        ws.add_table(0, 0, len(data), len(headers) - 1, {"name": spec.key, "columns": cols, "data": data})
        for key, fmt in (formats or {}).items():
            i = spec.keys.index(key)
            ws.set_column(i, i, 14, fmt)
        return ws

    table(CUSTOMERS, [
        ["C1", "Acme Ibérica S.L.", "B12345674", "pagos@acme.example", None, "+34 600 000 000", "es", None, 30,
         None, "Ana", "activo", None],
        ["C2", "Bolt Inc.", None, "ap@bolt.example", None, None, "en", "USD", 15, None, "Ana", "active", None],
    ], extra=[("Mi nota", None)])
    table(INVOICES, [
        ["F-1", "C1", dt.date(2024, 3, 1), None, None, 1210.0, "Servicios marzo", "PO-77", "abierta"],
        ["F-2", "C1", dt.date(2024, 4, 1), dt.date(2024, 4, 30), "EUR", 100.0, None, None, None],
        ["F-3", "C2", dt.date(2024, 4, 10), None, None, 999.99, None, None, None],
    ], extra=[("Doble", "=[@Importe]*2" if locale == "es" else "=[@Amount]*2")],
        formats={"amount": money_fmt, "issue_date": date_fmt})
    table(PAYMENTS, [[None, dt.date(2024, 4, 5), "C1", "F-1", 210.0, None, "transferencia", "TRF 1", None, None]])
    for spec in (CONTACTS, PLANS, LEVELS, TEMPLATES, MATCHES):
        table(spec, [])
    ws = wb.add_worksheet("Configuración" if locale == "es" else "Settings")
    ws.write_row(0, 0, ["Clave", "Valor"] if locale == "es" else ["Key", "Value"])
    ws.write_row(1, 0, ["locale", locale])
    ws.write_row(2, 0, ["base_currency", "EUR"])
    wb.add_worksheet("Notas de Ana").write(0, 0, "hoja del usuario")
    wb.close()
    return path


@pytest.fixture
def user_workbook(tmp_path: Path) -> Path:
    return write_user_workbook(tmp_path / "cobranza.xlsx")


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared is absent ({SHARED}); it holds the shared samples these tests read")
    return SHARED


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing touches the real home: tokens in a temporary COBRO_HOME, no SMTP settings, config or declared
    origins from outside. Returns the COBRO_HOME folder (not created)."""
    home = tmp_path / "cobro-home"
    monkeypatch.setenv("COBRO_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    for var in ("COBRO_SMTP_HOST", "COBRO_SMTP_PORT", "COBRO_SMTP_SECURITY", "COBRO_SMTP_USER",
                "COBRO_SMTP_PASSWORD", "COBRO_CONFIG", "COBRO_LEDGERS", "COBRO_ALLOWED_ORIGINS"):
        monkeypatch.delenv(var, raising=False)
    return home
