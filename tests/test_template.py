"""The workbook template: tables, headers, drop-downs, formats, defaults and reminder texts (fast, no LibreOffice)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from jinja2 import StrictUndefined, meta
from jinja2.sandbox import SandboxedEnvironment
from openpyxl.formula.tokenizer import Tokenizer

from cobro import defaults
from cobro.ledger import Ledger, Settings, empty_frame, make_frame
from cobro.safety import neutralize_formula
from cobro.schema import (
    CONTACTS,
    CUSTOMERS,
    DASHBOARD,
    INVOICES,
    LEVELS,
    MATCHES,
    PAYMENTS,
    PLANS,
    SETTINGS,
    SETTINGS_DEFAULTS,
    SHEETS,
    SUMMARY_TITLE,
    TEMPLATES,
    canonical_enum,
    enum_label,
)
from sheets_templates import HELPER_COLUMNS, build_workbook, helper_formulas, new_ledger, settings_values
from sync.store import Changes
from sync.xlsx_store import XlsxStore

LOCALES = ("es", "en")


def _build(locale: str, ledger: Ledger | None = None, as_of: dt.date | None = None) -> openpyxl.Workbook:
    buf = io.BytesIO()
    build_workbook(buf, locale=locale, ledger=ledger, as_of=as_of)
    return openpyxl.load_workbook(io.BytesIO(buf.getvalue()))


@pytest.fixture(scope="module", params=LOCALES)
def empty_wb(request: pytest.FixtureRequest) -> tuple[str, openpyxl.Workbook]:
    return request.param, _build(request.param)


def _extra_headers(key: str, locale: str) -> list[str]:
    if key == "Settings":
        return ["Descripción" if locale == "es" else "Description"]
    return [h.header(locale) for h in HELPER_COLUMNS.get(key, ())]


# ----------------------------------------------------------------------------------- structure


def test_every_sheet_is_one_table_named_by_its_key(empty_wb: tuple[str, openpyxl.Workbook]) -> None:
    locale, wb = empty_wb
    titles = [s.title(locale) for s in SHEETS]
    # the Summary first, the Dashboard last (issue 14: on by default, cobro new and cobro demo included)
    assert wb.sheetnames == [SUMMARY_TITLE[locale], *titles, DASHBOARD.title(locale)]
    assert list(wb[DASHBOARD.title(locale)].tables.keys()) == [DASHBOARD.key]
    assert len(wb[DASHBOARD.title(locale)]._charts) == 1  # one chart per Summary currency: the base one here
    for spec in SHEETS:
        ws = wb[spec.title(locale)]
        assert list(ws.tables.keys()) == [spec.key], spec.key
        table = ws.tables[spec.key]
        expected = [c.header(locale) for c in spec.columns] + _extra_headers(spec.key, locale)
        assert [tc.name for tc in table.tableColumns] == expected
        assert [c.value for c in ws[1]][: len(expected)] == expected
        assert ws.freeze_panes == "A2"


def test_summary_is_not_a_table_and_is_the_first_sheet(empty_wb: tuple[str, openpyxl.Workbook]) -> None:
    locale, wb = empty_wb
    ws = wb[SUMMARY_TITLE[locale]]
    assert wb.sheetnames[0] == SUMMARY_TITLE[locale]
    assert not ws.tables
    assert ws["B3"].value == "=TODAY()"
    assert [ws.cell(row=4, column=c).value for c in range(2, 6)] == [30, 60, 90, 120]
    assert {n for n in wb.defined_names} >= {"cobro_as_of", "cobro_basis", "cobro_base"}


def test_enum_columns_have_localized_drop_downs(empty_wb: tuple[str, openpyxl.Workbook]) -> None:
    locale, wb = empty_wb
    for spec in SHEETS:
        ws = wb[spec.title(locale)]
        lists = {}
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                lists[rng.min_col] = (dv, rng)
        for j, col in enumerate(spec.columns, start=1):
            if col.type not in ("enum", "bool"):
                continue
            assert j in lists, f"{spec.key}.{col.key} has no drop-down"
            dv, rng = lists[j]
            assert dv.type == "list" and rng.min_row == 2 and rng.max_row == 1_048_576
            choices = col.choices if col.type == "enum" else ("yes", "no")
            labels = [x.strip('"') for x in dv.formula1.strip('"').split(",")]
            assert labels == [enum_label(c, locale) for c in choices]
            # The parser accepts every label the drop-down offers.
            assert [canonical_enum(col, lab) for lab in labels] == list(choices)
            assert dv.errorStyle == "warning"  # other accepted spellings may still be typed


def test_spanish_drop_downs_show_spanish_labels() -> None:
    wb = _build("es")
    ws = wb["Facturas"]
    status_col = INVOICES.keys.index("status") + 1
    dv = next(d for d in ws.data_validations.dataValidation if {r.min_col for r in d.sqref.ranges} == {status_col})
    assert "cancelada" in dv.formula1 and "incobrable" in dv.formula1 and "en disputa" in dv.formula1


def test_date_and_money_formats_and_widths() -> None:
    wb = _build("es", _small_ledger())
    ws = wb["Facturas"]
    col = {c.key: i + 1 for i, c in enumerate(INVOICES.columns)}
    assert ws.cell(row=2, column=col["issue_date"]).number_format == "dd/mm/yyyy"
    assert ws.cell(row=2, column=col["amount"]).number_format == "#,##0.00"
    clp_row = next(r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=col["currency"]).value == "CLP")
    assert ws.cell(row=clp_row, column=col["amount"]).number_format == "#,##0"
    assert ws.column_dimensions["A"].width >= 9
    en = _build("en", _small_ledger())["Invoices"]
    assert en.cell(row=2, column=col["due_date"]).number_format == "yyyy-mm-dd"
    ts = wb["Gestiones"].cell(row=2, column=1)
    assert ts.number_format == "dd/mm/yyyy hh:mm"


def test_overdue_balances_are_highlighted(empty_wb: tuple[str, openpyxl.Workbook]) -> None:
    locale, wb = empty_wb
    ws = wb[INVOICES.title(locale)]
    bal = openpyxl.utils.get_column_letter(INVOICES.keys.index("balance") + 1)
    rules = [(str(rng.sqref), r) for rng in ws.conditional_formatting for r in rng.rules]
    on_balance = [r for rng, r in rules if rng.startswith(f"{bal}2:")]
    assert on_balance and all("cobro_as_of" in r.formula[0] for r in on_balance)


def test_helper_columns_are_calculated_columns(empty_wb: tuple[str, openpyxl.Workbook]) -> None:
    locale, wb = empty_wb
    formulas = helper_formulas(locale)
    for key in ("Invoices", "Payments"):
        spec = next(s for s in SHEETS if s.key == key)
        ws = wb[spec.title(locale)]
        table = ws.tables[key]
        for tc in table.tableColumns[len(spec.columns):]:
            assert tc.calculatedColumnFormula is not None
            assert "=" + tc.calculatedColumnFormula.attr_text == formulas[key][tc.name]
            col = [c.value for c in ws[1]].index(tc.name) + 1
            assert ws.cell(row=2, column=col).value == formulas[key][tc.name]
            assert ws.cell(row=1, column=col).comment is not None


# Every function the workbook may use (all in Excel 2010 and LibreOffice), with its number of arguments:
# (min, max, odd) — a wrong count makes Excel refuse the file, so it is checked here, not only in LibreOffice.
_FUNCTIONS = {"IF": (2, 3), "IFERROR": (2, 2), "INDEX": (2, 3), "MATCH": (2, 3), "SUMIFS": (3, 255, "odd"),
              "ROUND": (2, 2), "SUM": (1, 255), "INT": (1, 1), "ISNUMBER": (1, 1), "AND": (1, 255), "OR": (1, 255),
              "NOT": (1, 1), "N": (1, 1), "UPPER": (1, 1), "LOWER": (1, 1), "LEFT": (1, 2), "TRIM": (1, 1),
              "SUBSTITUTE": (3, 4), "TODAY": (0, 0)}


def _formulas(wb: openpyxl.Workbook) -> list[str]:
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    out.append(c.value)
                else:
                    assert not (isinstance(c.value, str) and c.value.startswith("=")), c.value
        for cf in ws.conditional_formatting:
            out.extend("=" + r.formula[0] for r in cf.rules)
        for table in ws.tables.values():
            out.extend("=" + tc.calculatedColumnFormula.attr_text for tc in table.tableColumns
                       if tc.calculatedColumnFormula is not None)
    return out


def _check_formula(f: str) -> None:
    stack: list[list] = []  # [kind, name, args, saw_operand]
    for t in Tokenizer(f).items:
        if t.type in ("FUNC", "PAREN", "ARRAY") and t.subtype == "OPEN":
            stack.append([t.type, t.value[:-1].upper() if t.type == "FUNC" else "", 0, False])
        elif t.type in ("FUNC", "PAREN", "ARRAY") and t.subtype == "CLOSE":
            kind, name, args, saw = stack.pop()
            if kind == "FUNC":
                assert name in _FUNCTIONS, f"{name} is not an allowed function: {f}"
                n = args + 1 if (saw or args) else 0
                lo, hi, *odd = _FUNCTIONS[name]
                assert lo <= n <= hi and (not odd or n % 2 == 1), f"{name} with {n} arguments: {f}"
            if stack:
                stack[-1][3] = True
        elif t.type == "SEP" and t.subtype == "ARG" and stack and stack[-1][0] == "FUNC":
            stack[-1][2] += 1
        elif t.type == "OPERAND" and stack:
            stack[-1][3] = True
    assert not stack, f


def test_formulas_are_well_formed_and_old_enough(empty_wb: tuple[str, openpyxl.Workbook]) -> None:
    locale, wb = empty_wb
    formulas = _formulas(wb) + [f for fs in helper_formulas(locale).values() for f in fs.values()]
    assert len(formulas) > 50
    for f in formulas:
        _check_formula(f)
    with pytest.raises(AssertionError):
        _check_formula('=UPPER(LEFT(TRIM(A1)),3)')  # the checker catches a misplaced parenthesis


# ----------------------------------------------------------------------------------- contents


def test_levels_templates_and_settings_contents(empty_wb: tuple[str, openpyxl.Workbook]) -> None:
    locale, wb = empty_wb
    ws = wb[LEVELS.title(locale)]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2, values_only=False)]
    assert [r[0] for r in rows] == ["pre", "due", "r1", "call", "letter", "final"]
    assert [r[1] for r in rows] == [-3, 0, 7, 15, 30, 60]
    assert [r[2] for r in rows] == [enum_label(c, locale) for c in
                                    ("email", "email", "email", "phone", "letter", "email")]
    assert [r[4] for r in rows] == [enum_label("no", locale)] * 5 + [enum_label("yes", locale)]
    tws = wb[TEMPLATES.title(locale)]
    trows = [[c.value for c in r] for r in tws.iter_rows(min_row=2)]
    assert {(r[0], r[1]) for r in trows} == {(k, lang) for k in ("pre", "due", "r1", "call", "letter", "final")
                                             for lang in ("es", "en")}
    sws = wb[SETTINGS.title(locale)]
    values = {r[0].value: r[1].value for r in sws.iter_rows(min_row=2)}
    assert list(values) == list(SETTINGS_DEFAULTS)
    assert values["locale"] == locale
    if locale == "es":
        assert (values["timezone"], values["base_currency"], values["country"]) == ("Europe/Madrid", "EUR", "ES")


def test_empty_workbook_reads_back_as_an_empty_ledger(tmp_path: Path) -> None:
    for locale in LOCALES:
        path = tmp_path / f"new-{locale}.xlsx"
        new_ledger(path, locale)
        ledger = XlsxStore(path).load()
        for key in ("customers", "invoices", "payments", "contacts", "plans", "matches"):
            assert len(getattr(ledger, key)) == 0, (locale, key)
        assert ledger.levels["level"].tolist() == ["pre", "due", "r1", "call", "letter", "final"]
        assert ledger.levels["stop"].tolist() == [False] * 5 + [True]
        assert len(ledger.templates) == 12
        assert ledger.settings.locale == locale


def test_new_ledger_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        new_ledger(path, "es")
    assert path.read_bytes() == b"precious"
    with pytest.raises(ValueError, match="locale"):
        build_workbook(io.BytesIO(), locale="fr")


def test_default_levels_frame_is_typed() -> None:
    lv = defaults.default_levels("es")
    assert list(lv.columns) == LEVELS.keys + ["_row"]
    assert str(lv["days"].dtype) == "Int64" and lv["stop"].dtype == bool
    assert lv["template"].tolist() == lv["level"].tolist()
    tp = defaults.default_templates()
    assert list(tp.columns) == TEMPLATES.keys + ["_row"]
    assert set(tp["template"]) == set(lv.loc[lv["channel"].isin(["email", "letter", "whatsapp", "phone"]), "level"])
    st = defaults.default_settings("en")
    assert list(st) == list(SETTINGS_DEFAULTS) and st["locale"] == "en"


# ----------------------------------------------------------------------------------- templates render


def _line(iid: str, days: int, balance: str) -> dict[str, object]:
    return {"invoice_id": iid, "reference": "PO-1", "description": "Servicios", "issue_date": "01/03/2024",
            "due_date": "31/03/2024", "days_overdue": days, "amount": "1.210,00 EUR", "balance": balance,
            "currency": "EUR"}


def _contexts() -> list[dict[str, object]]:
    full = {
        "customer": {"name": "Ferretería <Ruiz> & Hijos", "customer_id": "C-1", "tax_id": "B12345678"},
        "company": {"name": "Mi Empresa, S.L.", "sender_name": "Ana", "sender_email": "cobros@example.com",
                    "reply_to": "admin@example.com"},
        "as_of": "30/04/2024", "level": "r1",
        "invoices": [_line("F-1", 30, "1.210,00 EUR"), _line("F-2", 12, "0,01 EUR")],
        "other_invoices": [_line("F-3", -5, "99,00 EUR"), _line("R-1", 3, "-50,00 EUR")],
        "totals": [{"currency": "EUR", "balance": "1.210,01 EUR"}, {"currency": "USD", "balance": "5.00 USD"}],
        "statement_totals": [{"currency": "EUR", "balance": "1.259,01 EUR"}],
        "payment_instructions": "IBAN ES00 0000", "discount": {"pct": "2", "until": "10/05/2024",
                                                                "amount": "24,20 EUR"},
        "interest": [{"currency": "EUR", "amount": "3,21 EUR"}], "max_days_overdue": 30,
    }
    bare = dict(full, customer={"name": "ACME", "customer_id": "C-2", "tax_id": ""},
                company=dict(full["company"], reply_to=""), invoices=[_line("F-9", -3, "10,00 EUR")],
                other_invoices=[], totals=[{"currency": "EUR", "balance": "10,00 EUR"}],
                statement_totals=[{"currency": "EUR", "balance": "10,00 EUR"}], payment_instructions="",
                discount=None, interest=[], max_days_overdue=0)
    return [full, bare]


def test_every_template_renders_in_the_sandbox_with_exactly_the_documented_variables() -> None:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
    tp = defaults.default_templates()
    for rec in tp.to_dict("records"):
        for part in ("subject", "body"):
            used = meta.find_undeclared_variables(env.parse(rec[part]))
            assert used <= set(defaults.TEMPLATE_VARIABLES), (rec["template"], rec["language"], part, used)
            assert "|" not in re.sub(r"\|length\b", "", rec[part]), "only the built-in length filter is used"
        for ctx in _contexts():
            assert set(ctx) == set(defaults.TEMPLATE_VARIABLES)
            subject = env.from_string(rec["subject"]).render(ctx)
            body = env.from_string(rec["body"]).render(ctx)
            assert subject.strip() and "\n" not in subject and "{" not in subject
            assert body.strip() and "{{" not in body and "{%" not in body
            assert "<Ruiz>" not in body  # values are escaped in HTML
    texts = {(r["template"], r["language"]): r["body"] for r in tp.to_dict("records")}
    assert "Estimado/a" in texts[("r1", "es")] and "usted" not in texts[("r1", "en")]
    assert "último aviso" in texts[("final", "es")].lower() and "final notice" in texts[("final", "en")].lower()


def test_templates_pass_cobros_own_template_check() -> None:
    render = pytest.importorskip("cobro.render")
    from cobro.ledger import empty_ledger

    led = empty_ledger(Settings()).replace(levels=defaults.default_levels("es"), templates=defaults.default_templates())
    assert render.check_templates(led) == []


# ----------------------------------------------------------------------------------- round trip


def _small_ledger() -> Ledger:
    customers = make_frame(CUSTOMERS, [
        {"customer_id": "C1", "name": "=HYPERLINK(\"http://x\")", "email": ("a@x.es", "b@x.es"), "currency": "EUR",
         "language": "es", "payment_terms_days": 30, "credit_limit": 500000, "status": "paused"},
        {"customer_id": "C2", "name": "Andes SpA", "currency": "CLP", "status": "active"},
    ])
    invoices = make_frame(INVOICES, [
        {"invoice_id": "F-1", "customer_id": "C1", "issue_date": "2024-03-01", "due_date": "2024-03-31",
         "currency": "EUR", "amount": 123456, "status": "disputed", "description": "+34 600 000 000"},
        {"invoice_id": "F-2", "customer_id": "C1", "issue_date": "2024-03-05", "due_date": "2024-04-04",
         "currency": "EUR", "amount": -1, "status": "cancelled"},
        {"invoice_id": "K-1", "customer_id": "C2", "issue_date": "2024-03-05", "due_date": "2024-04-04",
         "currency": "CLP", "amount": 150000, "status": "written_off"},
    ])
    payments = make_frame(PAYMENTS, [
        {"payment_id": "P1", "date": "2024-04-01", "customer_id": "C1", "invoice_id": "F-1", "amount": 100001,
         "currency": "EUR", "method": "direct_debit", "source": "statement"},
        {"payment_id": "P2", "date": "2024-04-02", "customer_id": "C2", "invoice_id": "", "amount": 7,
         "currency": "CLP", "method": "cash", "source": "import"},
    ])
    contacts = make_frame(CONTACTS, [
        {"timestamp": dt.datetime(2024, 4, 3, 9, 30), "customer_id": "C1", "invoice_ids": ("F-1", "F-2"),
         "channel": "phone", "direction": "out", "outcome": "promise", "promise_date": "2024-04-10",
         "promise_amount": 5000, "user": "ana", "notes": "@SUM(1)"},
    ])
    plans = make_frame(PLANS, [{"plan_id": "A1", "customer_id": "C1", "invoice_ids": ("F-1",), "installment": 1,
                                "due_date": "2024-05-01", "amount": 23455, "status": "missed"}])
    matches = make_frame(MATCHES, [{"statement_line": "L1", "date": "2024-04-01", "amount": 100001,
                                    "currency": "EUR", "text": "TRF FERRETERIA", "invoice_ids": ("F-1",),
                                    "customer_id": "C1", "confidence": 0.93, "reason": "reference",
                                    "action": "accept"}])
    settings = Settings(company_name="Cobros Ejemplo, S.A.", aging_buckets=(15, 45), late_interest_annual_pct=8,
                        early_payment_discount=(__import__("decimal").Decimal("2.5"), 10), min_reminder_amount=1050)
    return Ledger(customers=customers, invoices=invoices, payments=payments, contacts=contacts, plans=plans,
                  levels=defaults.default_levels("es"), templates=defaults.default_templates(), settings=settings,
                  matches=matches)


def _comparable(frame: pd.DataFrame) -> list[dict[str, object]]:
    return frame.drop(columns=["_row"]).astype(object).where(frame.drop(columns=["_row"]).notna(), None) \
        .to_dict("records")


@pytest.mark.parametrize("locale", LOCALES)
def test_ledger_round_trips_through_the_workbook(tmp_path: Path, locale: str) -> None:
    led = _small_ledger()
    path = tmp_path / f"l-{locale}.xlsx"
    build_workbook(path, locale=locale, ledger=led, as_of=dt.date(2024, 4, 30))
    back = XlsxStore(path).load()
    described = led.invoices.assign(description=led.invoices["description"].map(neutralize_formula))
    expected = led.replace(invoices=described)
    for key in ("invoices", "payments", "plans", "matches", "levels", "templates"):
        assert _comparable(back.frame(key)) == _comparable(expected.frame(key)), key
    # Outside text that looks like a formula stays text (neutralized, never evaluated).
    assert back.customers["name"].iloc[0] == "'=HYPERLINK(\"http://x\")"
    assert back.contacts["notes"].iloc[0] == "'@SUM(1)"
    assert back.invoices["description"].iloc[0] == "+34 600 000 000"  # a phone number is not a formula
    assert back.customers["email"].iloc[0] == ("a@x.es", "b@x.es")
    assert back.contacts["timestamp"].iloc[0] == pd.Timestamp("2024-04-03 09:30")
    assert back.settings == led.settings
    assert settings_values(back.settings)["aging_buckets"] == "15,45"
    wb = openpyxl.load_workbook(path)
    summary = wb[SUMMARY_TITLE[locale]]
    assert summary["B3"].value == dt.datetime(2024, 4, 30)
    assert [summary.cell(row=8, column=c).value for c in (1, 2)] == [
        "Moneda" if locale == "es" else "Currency", "No vencido" if locale == "es" else "Not due"]
    assert [summary.cell(row=r, column=1).value for r in (9, 10)] == ["EUR", "CLP"]


def _append_payments(path: Path, amounts: list[int]) -> None:
    store = XlsxStore(path)
    led = store.load()
    customers = make_frame(CUSTOMERS, [{"customer_id": "C1", "name": "Uno", "currency": "EUR"}])
    payments = make_frame(PAYMENTS, [{"date": f"2024-04-{i + 1:02d}", "customer_id": "C1", "amount": a,
                                      "currency": "EUR"} for i, a in enumerate(amounts)])
    changes = Changes(append={"Payments": payments})
    if led.customers.empty:
        changes.append["Customers"] = customers
    store.commit(changes)


def _helper_cells(path: Path, rows: range) -> dict[str, list[object]]:
    ws = openpyxl.load_workbook(path)["Pagos"]
    header = [c.value for c in ws[1]]
    return {name: [ws.cell(row=r, column=header.index(name) + 1).value for r in rows]
            for name in helper_formulas("es")["Payments"]}


def test_store_appends_to_a_filled_table_keep_the_calculated_columns(tmp_path: Path) -> None:
    """The .xlsx store grows the table copying the helper formulas of the row above."""
    path = tmp_path / "grow.xlsx"
    new_ledger(path, "es")
    _append_payments(path, [100])
    _append_payments(path, [200, 300])
    assert XlsxStore(path).load().payments["amount"].tolist() == [100, 200, 300]
    for name, cells in _helper_cells(path, range(2, 5)).items():
        assert cells == [helper_formulas("es")["Payments"][name]] * 3, name


def test_store_appends_to_the_empty_table_keep_the_calculated_columns(tmp_path: Path) -> None:
    path = tmp_path / "grow.xlsx"
    new_ledger(path, "es")
    _append_payments(path, [100, 200, 300])
    assert XlsxStore(path).load().payments["amount"].tolist() == [100, 200, 300]
    for name, cells in _helper_cells(path, range(2, 5)).items():
        assert cells == [helper_formulas("es")["Payments"][name]] * 3, name


def test_empty_frames_and_ledger_without_levels_get_the_defaults() -> None:
    from cobro.ledger import empty_ledger

    wb = _build("en", empty_ledger(Settings(locale="en", base_currency="USD")))
    assert wb["Levels"].max_row == 7 and wb["Templates"].max_row == 13
    values = {r[0].value: r[1].value for r in wb["Settings"].iter_rows(min_row=2)}
    assert values["base_currency"] == "USD"
    assert wb["Summary"].cell(row=9, column=1).value == "USD"
    assert empty_frame(INVOICES).empty


def test_pasted_statement_lines_are_written_as_text(tmp_path: Path) -> None:
    raw = pd.DataFrame({0: ["Fecha", "01/02/2024", "02/02/2024"], 1: ["Concepto", "TRF FERRETERIA RUIZ", "=1+1"],
                        2: ["Importe", "1.234,56", "-5,00"], "_row": [1, 2, 3]})
    led = _small_ledger().replace(statement=raw)
    path = tmp_path / "st.xlsx"
    build_workbook(path, locale="es", ledger=led)
    ws = openpyxl.load_workbook(path)["Extracto"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=1)]
    assert rows[0] == ["Fecha", "F. valor", "Concepto", "Importe", "Saldo"]
    assert rows[1] == ["01/02/2024", None, "TRF FERRETERIA RUIZ", "1.234,56", None]
    assert rows[2] == ["02/02/2024", None, "'=1+1", "-5,00", None]  # text, never a formula
