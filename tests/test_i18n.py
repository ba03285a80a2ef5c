"""One translation catalogue by key: every language has the same keys, and a third language is one file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cobro import i18n
from cobro.ledger import LedgerError, Problem


def test_languages_have_the_same_keys() -> None:
    keys = {lang: set(i18n.catalog(lang)) for lang in i18n.LANGUAGES}
    for lang, ks in keys.items():
        assert ks == keys["en"], f"{lang}: missing {sorted(keys['en'] - ks)}, extra {sorted(ks - keys['en'])}"


def test_placeholders_agree_across_languages() -> None:
    import string

    def fields(s: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(s) if f}

    en = i18n.catalog("en")
    for lang in i18n.LANGUAGES:
        for key, value in i18n.catalog(lang).items():
            assert fields(value) == fields(en[key]), (lang, key)


def test_fallbacks() -> None:
    assert i18n.language("es-MX") == "es" and i18n.language("pt") == "en" and i18n.language(None) == "en"
    assert i18n.text("no.such.key", "es") == "no.such.key"


def test_a_third_language_is_one_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    pt = types.ModuleType("cobro.i18n.pt")
    pt.TEXTS = {"problem.row": "linha", "problem.column": "coluna", "problem.expected": "esperava-se",
                "expected.required": "um valor"}
    monkeypatch.setitem(sys.modules, "cobro.i18n.pt", pt)
    monkeypatch.setattr(i18n, "LANGUAGES", (*i18n.LANGUAGES, "pt"))
    i18n.catalog.cache_clear()
    try:
        msg = Problem("Invoices", 7, "customer_id", None, "required").message("pt")
        assert "linha 7" in msg and "coluna" in msg and "esperava-se um valor" in msg
        assert "(blank)" in msg  # a key the file lacks falls back to English
    finally:
        i18n.catalog.cache_clear()


def test_problem_messages_in_spanish_and_english() -> None:
    p = Problem("Invoices", 4, "amount", "abc", "money")
    assert "fila 4" in p.message("es") and "se esperaba un importe" in p.message("es")
    assert "row 4" in p.message("en") and "expected an amount" in p.message("en")
    assert LedgerError([p], "es").render("es").startswith("1 problema(s) en el libro")


# ----------------------------------------------------------------------------------- every key used exists

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("cobro", "sync", "cobro_cli", "addin", "server.py")


def _text_calls() -> list[tuple[str, int, ast.expr]]:
    """``(file, line, first argument)`` of every ``text(...)`` / ``i18n.text(...)`` call of the catalogue."""
    found = []
    for top in SOURCES:
        base = ROOT / top
        for path in ([base] if base.is_file() else sorted(base.rglob("*.py"))):
            source = path.read_text(encoding="utf-8")
            if "i18n" not in source:
                continue
            tree = ast.parse(source, str(path))
            imports_text = any(isinstance(n, ast.ImportFrom) and (n.module or "").endswith("i18n")
                               and any(a.name == "text" and a.asname is None for a in n.names)
                               for n in ast.walk(tree))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                f = node.func
                if (isinstance(f, ast.Attribute) and f.attr == "text" and isinstance(f.value, ast.Name)
                        and f.value.id == "i18n") or (imports_text and isinstance(f, ast.Name) and f.id == "text"):
                    found.append((str(path.relative_to(ROOT)), node.lineno, node.args[0]))
    return found


def _literal_keys(arg: ast.expr) -> tuple[list[str], list[str]]:
    """``(keys, prefixes)`` a key argument can take: literals, both arms of ``a if c else b``, f-string heads."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value], []
    if isinstance(arg, ast.IfExp):
        k1, p1 = _literal_keys(arg.body)
        k2, p2 = _literal_keys(arg.orelse)
        return k1 + k2, p1 + p2
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        return [], [str(arg.values[0].value)]
    return [], []


def test_every_key_used_in_code_exists_in_english() -> None:
    en = i18n.catalog("en")
    calls = _text_calls()
    assert len(calls) > 40, "the scan found too few text() calls: is it still looking in the right places?"
    missing = []
    for where, line, arg in calls:
        keys, prefixes = _literal_keys(arg)
        missing += [f"{where}:{line}: {k}" for k in keys if k not in en]
        missing += [f"{where}:{line}: {p}…" for p in prefixes if not any(k.startswith(p) for k in en)]
    assert not missing, missing


def test_every_problem_code_written_in_code_has_its_text() -> None:
    """``Problem(sheet, row, column, value, "code")``: the catalogue has ``expected.<code>`` in English."""
    en = i18n.catalog("en")
    missing, n = [], 0
    for top in SOURCES:
        base = ROOT / top
        for path in ([base] if base.is_file() else sorted(base.rglob("*.py"))):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Problem"
                        and len(node.args) >= 5 and isinstance(node.args[4], ast.Constant)):
                    n += 1
                    if f"expected.{node.args[4].value}" not in en:
                        missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.args[4].value}")
    assert n > 20 and not missing, missing


def test_every_key_built_from_a_code_exists() -> None:
    """Keys made from a code at run time (skip.<reason>, next.<kind>, worklist.action.<action>, …) all exist."""
    from cobro import reminders

    en = i18n.catalog("en")
    reasons = ["paused", "legal", "closed", "dispute", "promise", "paid_claim", "plan", "covered_by_credit",
               "below_minimum", "below_formal_minimum", "write_off", "no_address"]
    wanted = [f"skip.{r}" for r in reasons]
    wanted += [f"fix.{p}" for p in ("no_email", "invalid_email", "no_phone", "invalid_phone")]
    wanted += [f"next.{k}" for k in reminders._NEXT_KINDS] + ["next.nobody", "call.subject", "call.notes"]
    wanted += [f"month.short.{m}" for m in range(1, 13)]
    wanted += [f"worklist.action.{a}" for a in (
        "chase_promise", "fix_contact", "call", "send_reminder", "send_letter", "send_whatsapp", "review_dispute",
        "wait_promise", "promise_kept", "on_hold", "apply_credit", "write_off", "below_minimum")]
    wanted += [f"worklist.status.{s}" for s in ("paused", "legal", "closed")]
    wanted += [f"worklist.reason.{r}" for r in ("overdue_1", "overdue_n_same", "overdue_n", "disputed_1",
                                                "disputed_n", "pending", "kept", "broken")]
    wanted += [f"expected.setting.{s}" for s in (
        "locale", "base_currency", "aging_buckets", "aging_basis", "send_window", "amount", "amounts",
        "early_payment_discount", "late_interest_annual_pct", "promise_grace_days", "email")]
    wanted += ["expected.level_key"]
    assert [k for k in wanted if k not in en] == []


def test_a_spanish_workbook_gets_its_settings_problems_in_spanish() -> None:
    from cobro.ledger import parse_settings

    problems: list[Problem] = []
    parse_settings({"locale": "fr", "base_currency": "XX", "aging_buckets": "a", "aging_basis": "x",
                    "send_window": "z", "min_reminder_amount": "abc", "write_off_tolerance": "EUR uno",
                    "early_payment_discount": "x", "late_interest_annual_pct": "x", "promise_grace_days": "x"},
                   problems)
    assert len(problems) == 10 and {p.code for p in problems} == {"setting"}
    en = LedgerError(problems).render("en")
    es = LedgerError(problems).render("es")
    assert "expected an amount in EUR" in en and "expected amounts per currency such as EUR 20" in en
    assert "se esperaba un importe en EUR" in es and "se esperaba es o en" in es
    assert " such as " not in es and "amounts per currency" not in es
    assert "amounts per currency" in problems[6].detail["what"]  # the English stays in the detail


def test_reminder_and_worklist_texts_by_key_in_both_languages() -> None:
    import datetime as dt

    from cobro.reminders import ContactFix, NextStep, Skip
    from cobro.worklist import action_label

    skip = Skip("C1", "Acme", "promise", ("F1",), until=dt.date(2026, 12, 9))
    assert skip.message("en") == "promise to pay until 9 Dec 2026"
    assert skip.message("es") == "promesa de pago hasta el 09/12/2026"
    assert Skip("C1", "Acme", "something_new", ()).message("es") == "something_new"
    fix = ContactFix("C1", "Acme", "whatsapp", "r1", ("F1",), "phone", "invalid_phone", "123")
    assert fix.message("es").startswith("el teléfono no sirve para WhatsApp") and fix.message("en").endswith(": 123")
    step = NextStep("C1", "Acme", "handover", level="r3")
    assert NextStep("C1", "Acme", "handover", level="r3", collector="Ana").message("es") == (
        "en manos de Ana tras el nivel r3: sigue una persona")
    assert step.message("en") == "handed over to the collector after level r3: a person follows up"
    assert action_label("on_hold", "es", status="cliente en pausa") == "ninguna: cliente en pausa"
    assert action_label("send_reminder", "en", level="r1") == "send reminder r1"


def test_a_third_language_brings_its_number_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from cobro.money import format_money

    assert format_money(123456789, "EUR", "en") == "1,234,567.89 EUR"
    assert format_money(123456789, "EUR", "es") == "1.234.567,89 EUR"
    assert format_money(1234567, "CLP", "es") == "1.234.567 CLP"
    fr = types.ModuleType("cobro.i18n.fr")
    fr.TEXTS = {"number.group": "\u202f", "number.decimal": ","}
    monkeypatch.setitem(sys.modules, "cobro.i18n.fr", fr)
    monkeypatch.setattr(i18n, "LANGUAGES", (*i18n.LANGUAGES, "fr"))
    i18n.catalog.cache_clear()
    try:
        assert format_money(123456789, "EUR", "fr") == "1\u202f234\u202f567,89 EUR"
        assert format_money(-5, "EUR", "fr") == "-0,05 EUR"
    finally:
        i18n.catalog.cache_clear()
