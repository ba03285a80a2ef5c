"""Templates are bounded in work and memory, per message and per run (issue 15 section 2, "Templates").

Each bomb below ran past 60 s or took a gigabyte before; now it is a template problem naming the key and the
language, found by ``check_templates`` before anything is sent. Work is counted in steps (deterministic, no
clock), so these tests assert on what is reported, never on time.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from cobro.ledger import Settings, empty_ledger, make_frame
from cobro.render import (
    RenderLimits,
    TemplateProblem,
    TemplateRenderError,
    TemplateSet,
    check_templates,
    sample_context,
)
from cobro.schema import LEVELS, TEMPLATES

SETTINGS = Settings(company_name="Acme, S.L.", sender_name="Cobros", sender_email="cobros@acme.es")


def templates(*rows: tuple[str, str, str, str]) -> Any:
    return make_frame(TEMPLATES, [{"template": k, "language": lang, "subject": s, "body": b, "_row": i + 2}
                                  for i, (k, lang, s, b) in enumerate(rows)])


def ledger_with(body: str, subject: str = "Aviso", language: str = "en") -> Any:
    lv = make_frame(LEVELS, [{"level": "r1", "days": 7, "channel": "email", "template": "r1", "_row": 2}])
    return empty_ledger(SETTINGS).replace(templates=templates(("r1", language, subject, body)), levels=lv)


BOMBS = {
    "nested ranges": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "nested ranges, no output": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "lipsum": "{{ lipsum(10000000) }}",
    "power": "{{ 7**(9**9) }}",
    "power of a variable": "{% set n = 9**9 %}{{ 7**n }}",
    "string times a billion": "{{ 'a'*10**9 }}",
    "list times a billion": "{{ ['a']*10**9 }}",
    "doubling with ~": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
                       "{% endfor %}{{ ns.s|length }}",
    "doubling with +": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
                       "{% endfor %}{{ ns.s|length }}",
    "recursive macro": "{% macro f(s, n) %}{{ f(s ~ s, n - 1) if n else s|length }}{% endmacro %}{{ f('ab', 40) }}",
    "center filter": "{{ 'a'|center(1000000000) }}",
    "ljust method": "{{ 'a'.ljust(1000000000) }}",
    "format width": "{{ '%1000000000s'|format('a') }}",
    "percent width": "{{ '%1000000000d' % 1 }}",
    "str.format width": "{{ '{:>1000000000}'.format(1) }}",
    "replace blow-up": "{% set s = 'a'*100000 %}{{ s|replace('a', s) }}",
    "join blow-up": "{% set s = 'a'*100000 %}{{ ([s]*100000)|join }}",
    "output too long": "{% for i in range(100000) %}{{ 'x'*1000 }}{% endfor %}",
    "literal output too long": "{% for i in range(100000) %}" + "y" * 200 + "{% endfor %}",
    "a macro building text": "{% macro m() %}{% for i in range(100000) %}" + "z" * 2000 + "{% endfor %}"
                             "{% endmacro %}{% set x = m() %}{{ x|length }}",
    "a set block building text": "{% set x %}{% for i in range(100000) %}" + "w" * 2000 + "{% endfor %}"
                                 "{% endset %}{{ x|length }}",
    "loops over the invoices": "{% for a in invoices %}{% for b in range(100000) %}{% for c in range(100000) %}"
                               "{% endfor %}{% endfor %}{% endfor %}",
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_bombs_are_template_problems_before_anything_is_sent(name: str) -> None:
    loops = name.startswith(("nested", "loops"))  # tracemalloc would slow their 500,000 steps tenfold
    if not loops:
        tracemalloc.start()
    try:
        problems = check_templates(ledger_with("<p>" + BOMBS[name] + "</p>"))
        peak = tracemalloc.get_traced_memory()[1] if not loops else 0
    finally:
        if not loops:
            tracemalloc.stop()
    assert len(problems) == 1, problems
    (p,) = problems
    assert isinstance(p, TemplateProblem)
    assert (p.template, p.language, p.part, p.kind) == ("r1", "en", "body", "limit"), p
    assert p.message("en").startswith('Templates, row 2, template "r1" (en), body')
    assert "nothing was sent" in p.message("en") and "no se envió nada" in p.message("es")
    assert peak < 64 * 2**20, f"{name} took {peak / 2**20:.0f} MiB"


def test_a_bomb_in_the_subject_is_located_there() -> None:
    (p,) = check_templates(ledger_with("<p>ok</p>", subject="{{ 'a'*10**9 }}"))
    assert (p.part, p.kind, p.language) == ("subject", "limit", "en")  # type: ignore[union-attr]


def test_a_bomb_only_some_customers_trigger_is_refused_when_rendered() -> None:
    body = "<p>{% if customer.name == 'Zeta' %}{{ lipsum(10000000) }}{% endif %}Hola</p>"
    led = ledger_with(body)
    assert check_templates(led) == []  # the sample customer does not trigger it
    ts = TemplateSet(led.templates, "en")
    ctx = sample_context(SETTINGS, "en")
    ctx["customer"] = {**ctx["customer"], "name": "Zeta"}
    with pytest.raises(TemplateRenderError) as ei:
        ts.render("r1", "en", ctx)
    assert (ei.value.problem.kind, ei.value.problem.template, ei.value.problem.language) == ("limit", "r1", "en")


def test_ordinary_templates_are_untouched() -> None:
    body = ("<p>{% for i in invoices %}{{ i.invoice_id }} {{ i.balance }}{% if not loop.last %}, {% endif %}"
            "{% endfor %}</p><p>{{ lipsum(2, false) }}</p><p>{{ '%5s'|format('a') }} {{ 2**10 }} {{ 'ab'*3 }}"
            " {{ range(3)|list|length }} {{ range(10)|reverse|first }} {{ (range(5))[1] }}</p>")
    led = ledger_with(body)
    assert check_templates(led) == []
    out = TemplateSet(led.templates, "en").render("r1", "en", sample_context(SETTINGS, "en"))
    assert "1024 ababab 3 9 1" in out.text


def test_the_run_has_its_own_allowance() -> None:
    led = ledger_with("<p>{% for i in range(1000) %}{{ i }}{% endfor %}</p>")
    limits = RenderLimits(steps_per_run=20_000)
    ts = TemplateSet(led.templates, "en", limits=limits)
    ctx = sample_context(SETTINGS, "en")
    rendered = 0
    with pytest.raises(TemplateRenderError) as ei:
        for _ in range(100):
            ts.render("r1", "en", ctx)
            rendered += 1
    assert 3 <= rendered < 20 and "for this run" in ei.value.problem.detail
    assert TemplateSet(led.templates, "en", limits=limits).render("r1", "en", ctx)  # a new run starts afresh


def test_a_hosts_clock_adds_a_deadline() -> None:
    """The core reads no clock; a host may hand one in. A clock that jumps makes the next check refuse."""
    ticks = iter(range(0, 10**9, 10))
    led = ledger_with("<p>{% for i in range(100000) %}{% endfor %}</p>")
    ts = TemplateSet(led.templates, "en", limits=RenderLimits(seconds_per_message=5.0),
                     clock=lambda: float(next(ticks)))
    with pytest.raises(TemplateRenderError) as ei:
        ts.render("r1", "en", sample_context(SETTINGS, "en"))
    assert "longer than 5 s" in ei.value.problem.detail
