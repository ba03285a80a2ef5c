"""One translation catalogue by key: every language has the same keys, and a third language is one file."""

from __future__ import annotations

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
