"""The service collects garbage between requests (``sync.collector``): never while a request is under way (until its
response has been sent), once it has been idle a moment, and anyway past the ceiling; stopping gives the automatic
collector and the GIL's switch interval back. Checked with a clock the test moves and a real app on loopback."""

from __future__ import annotations

import gc
import sys
import threading
import urllib.request
from collections.abc import Iterator

import pytest
from flask import Flask

from sync import collector as gcmod
from sync.collector import IdleCollector, collect_when_idle
from tests.waitress_thread import running


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def automatic_gc_kept() -> Iterator[None]:
    """The automatic collector off for the test (as ``start`` leaves it), back as it was after."""
    was = gc.isenabled()
    gc.disable()
    gc.collect()
    yield
    gc.enable() if was else gc.disable()


def garbage(n: int = 5_000) -> list[list[int]]:
    return [[i] for i in range(n)]  # container objects the collector counts


def test_collects_only_when_idle_long_enough(automatic_gc_kept: None) -> None:
    clock = Clock()
    c = IdleCollector(idle=0.25, clock=clock)
    keep = garbage()
    c.enter()  # a request under way
    clock.now += 10
    assert not c.tick() and c.collections == 0
    c.leave()  # its response sent
    assert not c.tick()  # not idle long enough yet
    clock.now += 0.3
    keep += garbage()
    assert c.tick() and c.collections == 1
    assert not c.tick()  # nothing new since
    del keep


def test_a_busy_service_collects_past_the_ceiling(automatic_gc_kept: None) -> None:
    c = IdleCollector(ceiling=gcmod.PENDING_MIN, clock=Clock())
    c.enter()
    keep = garbage(gcmod.PENDING_MIN * 2)
    assert c.tick() and c.collections == 1
    c.leave()
    del keep


def test_a_request_counts_until_its_response_is_sent(automatic_gc_kept: None) -> None:
    app = Flask("t")
    inside = threading.Event()
    release = threading.Event()

    @app.get("/slow")
    def slow() -> str:
        inside.set()
        release.wait(10)
        return "ok"

    gc.enable()
    switch = sys.getswitchinterval()
    c = collect_when_idle(app, idle=0.0)
    try:
        assert not gc.isenabled()  # the automatic collector is off while it runs
        assert sys.getswitchinterval() == gcmod.SWITCH_SECONDS
        with running(app) as server:
            url = f"http://127.0.0.1:{server.effective_port}/slow"
            done: list[str] = []
            t = threading.Thread(target=lambda: done.append(urllib.request.urlopen(url, timeout=10).read().decode()))
            t.start()
            assert inside.wait(10)
            with c._lock:
                assert c._busy == 1
            release.set()
            t.join(10)
            assert done == ["ok"]
            with c._lock:
                assert c._busy == 0
    finally:
        c.stop()
    assert gc.isenabled() and sys.getswitchinterval() == switch  # given back as they were


def test_an_app_that_raises_is_not_counted_as_busy_for_ever(automatic_gc_kept: None) -> None:
    c = IdleCollector(clock=Clock())

    def broken(environ: dict, start_response: object) -> list[bytes]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        c.wrap(broken)({}, lambda *a: None)
    with c._lock:
        assert c._busy == 0


def test_a_pause_under_way_at_start_does_not_turn_the_collector_back_on() -> None:
    """A workbook read at start-up pauses the collector (``cobro.bulk.gc_paused``) before the service's collector
    starts, and ends after: the automatic collector stays off until ``stop``, and is on again after it."""
    from cobro.bulk import gc_paused

    was = gc.isenabled()
    gc.enable()
    try:
        c = IdleCollector(clock=Clock())
        with gc_paused():
            assert not gc.isenabled()
            c.start()
        assert not gc.isenabled()  # the pause ended: the collector that owns it keeps it off
        with gc_paused():  # a read while it runs changes nothing either
            pass
        assert not gc.isenabled()
        with gc_paused():
            c.stop()  # stopped during a pause: on again when the pause ends
            assert not gc.isenabled()
        assert gc.isenabled()
    finally:
        gc.enable() if was else gc.disable()


def test_pauses_in_two_threads_end_with_the_collector_as_it_was() -> None:
    from cobro.bulk import gc_paused

    was = gc.isenabled()
    gc.enable()
    try:
        first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
        seen: list[bool] = []

        def first() -> None:
            with gc_paused():
                first_in.set()
                second_in.wait(10)
            first_out.set()

        t = threading.Thread(target=first)
        t.start()
        first_in.wait(10)
        with gc_paused():
            second_in.set()
            first_out.wait(10)
            seen.append(gc.isenabled())  # the first pause ended, this one has not: still off
        t.join(10)
        assert seen == [False] and gc.isenabled()
    finally:
        gc.enable() if was else gc.disable()


def test_young_generations_when_briefly_idle_everything_after_a_longer_quiet(automatic_gc_kept: None) -> None:
    """A full pass walks every cache (80-250 ms on a 10,000-invoice workbook): between the edits of someone typing
    only the young generations are collected; everything once the service has been quiet for ``full_idle``, and
    every ``FULL_EVERY`` young passes on a service that is never quiet."""
    generations: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            generations.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        clock = Clock()
        c = IdleCollector(idle=0.25, full_idle=3.0, clock=clock)
        keep = garbage()
        clock.now += 0.3
        assert c.tick() and generations == [1] and c.full_collections == 0
        assert not c.tick()  # nothing new, and not quiet long enough for a full pass
        clock.now += 3.0
        assert c.tick() and generations == [1, 2] and c.full_collections == 1
        assert not c.tick()  # one full pass per quiet spell
        busy = IdleCollector(ceiling=gcmod.PENDING_MIN, clock=Clock())
        busy.enter()
        generations.clear()
        for _ in range(gcmod.FULL_EVERY):
            keep += garbage(gcmod.PENDING_MIN)
            assert busy.tick()
        assert generations == [1] * (gcmod.FULL_EVERY - 1) + [2] and busy.full_collections == 1
        busy.leave()
        del keep
    finally:
        gc.callbacks.remove(seen)
