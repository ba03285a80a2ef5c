"""One translation catalogue for every text cobro shows a person, by key — not positional (en, es) pairs.

Each language is one module of this package holding ``TEXTS: dict[str, str]`` (``cobro/i18n/es.py``,
``cobro/i18n/en.py``); a third language is a third file (``pt.py``) and its code in ``LANGUAGES``. A key missing
from a language falls back to English, then to the key itself, so a partial translation never breaks a message.
Texts are ``str.format`` templates: ``text("problem.unique", "es", other=7)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import Any

LANGUAGES: tuple[str, ...] = ("es", "en")
FALLBACK = "en"


def language(locale: str | None) -> str:
    """The catalogue for ``locale`` (``es-MX`` → ``es``); English when cobro has no such language."""
    code = (locale or FALLBACK).replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else FALLBACK


@cache
def catalog(lang: str) -> Mapping[str, str]:
    """The texts of one language (its module's ``TEXTS``)."""
    module = importlib.import_module(f"{__name__}.{lang}")
    return module.TEXTS


def text(key: str, locale: str | None = None, /, **values: Any) -> str:
    """The text of ``key`` in ``locale``, formatted with ``values``."""
    lang = locale if locale in LANGUAGES else language(locale)  # the common case first: a hot path in big lists
    template = catalog(lang).get(key)
    if template is None:
        template = catalog(FALLBACK).get(key, key)
    return template.format(**values) if values else template
