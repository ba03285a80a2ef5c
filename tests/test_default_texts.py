"""The default texts never tell a customer that an overdue invoice is about to fall due (catch-up runs)."""

from __future__ import annotations

import pytest

from cobro.defaults import default_templates
from cobro.ledger import Settings
from cobro.render import TemplateSet, sample_context


@pytest.mark.parametrize(("key", "lang", "not_due", "overdue"), [
    ("pre", "es", "próximos días", "pendiente"), ("pre", "en", "next few days", "still open"),
    ("due", "es", "hoy,", "vencido"), ("due", "en", "due today", "past due"),
])
def test_pre_and_due_texts_follow_the_facts(key: str, lang: str, not_due: str, overdue: str) -> None:
    texts = TemplateSet(default_templates(), lang)
    ctx = sample_context(Settings(locale=lang), lang)
    on_time = texts.render(key, lang, {**ctx, "max_days_overdue": 0})
    late = texts.render(key, lang, {**ctx, "max_days_overdue": 12})
    assert not_due in on_time.text.casefold().replace("\n", " ")
    assert not_due not in late.text.casefold().replace("\n", " ")
    assert overdue in late.text.casefold().replace("\n", " ")
    assert on_time.subject != late.subject

