"""The service's garbage collection, done between requests instead of in the middle of one.

CPython's cyclic collector runs when allocations pass its thresholds, whatever the process is doing. In the
service, whose caches hold the posted tables, their parses and reports, a full collection walks all of that
(80-250 ms for a 10,000-invoice workbook), and it tends to land in the burst of requests a recalculation makes after
an edit: one cell function in Excel then waits for the collector. ``IdleCollector`` turns the automatic collector off
(and holds it off: ``cobro.bulk.hold_collector``) and collects when no request has been under way for a moment
(cobro's data is acyclic: reference counting frees nearly everything at once; only cycles wait for the collector):

- after ``idle`` seconds of quiet, the young generations only (what was allocated since the last pass: a few ms);
- after ``full_idle`` seconds of quiet, everything (the long-lived caches included), once per quiet spell that
  follows new collections: a person typing in the workbook pauses less than that between edits, so the full pass
  rarely meets a recalculation;
- under a load that never pauses, the young generations once ``ceiling`` container objects have accumulated, and
  everything every ``FULL_EVERY`` of those, so memory stays bounded.

While it runs, the interpreter also hands the GIL over every millisecond instead of every five
(``sys.setswitchinterval``): waitress's I/O thread, which reads the requests and writes the responses, then waits
less behind the threads computing reports (a recalculation's four reports run at once).

``cobro serve`` installs it on its app; the add-in benchmark does the same to measure what users get.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from cobro.bulk import hold_collector, release_collector

IDLE_SECONDS = 0.25
FULL_IDLE_SECONDS = 3.0
FULL_EVERY = 50  # young collections between full ones on a service that is never quiet for FULL_IDLE_SECONDS
CHECK_SECONDS = 0.05
PENDING_MIN = 2_000  # fewer new container objects than this since the last collection: nothing worth a pass
CEILING = 1_000_000  # this many, and a busy service collects anyway (the automatic collector's default is 700)
SWITCH_SECONDS = 0.001  # how often a thread computing gives the GIL to one waiting (CPython's default: 0.005)


class IdleCollector:
    """Collects garbage while the service is idle (see the module docstring). ``wrap`` counts the requests under
    way around a WSGI app; ``start``/``stop`` run the checking thread (``stop`` gives the automatic collector back)."""

    def __init__(self, *, idle: float = IDLE_SECONDS, full_idle: float = FULL_IDLE_SECONDS, ceiling: int = CEILING,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle, self.full_idle, self.ceiling, self._clock = idle, full_idle, ceiling, clock
        self._lock = threading.Lock()
        self._busy = 0
        self._last = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._was_enabled = gc.isenabled()
        self._was_switch = sys.getswitchinterval()
        self.collections = 0  # every pass
        self.full_collections = 0
        self._young = 0  # young passes since the last full one

    # ------------------------------------------------------------------ requests
    def enter(self) -> None:
        with self._lock:
            self._busy += 1

    def leave(self) -> None:
        with self._lock:
            self._busy -= 1
            self._last = self._clock()

    def wrap(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        """A WSGI app that counts ``app``'s requests as under way until the server has sent the whole response."""

        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            self.enter()
            try:
                body = app(environ, start_response)
            except BaseException:
                self.leave()
                raise
            return _Closing(body, self.leave)

        return counted

    # ------------------------------------------------------------------ collecting
    def tick(self) -> bool:
        """One check (see the module docstring): the young generations when idle long enough with garbage pending
        or past the ceiling, everything after a longer quiet or every ``FULL_EVERY`` young passes. True if it
        collected."""
        pending = gc.get_count()[0]
        with self._lock:
            quiet = self._clock() - self._last if self._busy == 0 else -1.0
        young = (quiet >= self.idle and pending >= PENDING_MIN) or pending >= self.ceiling
        if (quiet >= self.full_idle and (self._young or pending >= PENDING_MIN)) or (
                young and self._young + 1 >= FULL_EVERY):
            gc.collect()
            self._young = 0
            self.full_collections += 1
        elif young:
            gc.collect(1)
            self._young += 1
        else:
            return False
        self.collections += 1
        return True

    def start(self) -> IdleCollector:
        """Turn the automatic collector off, hand the GIL over sooner, and start checking (a daemon thread)."""
        self._was_enabled = hold_collector()  # held off: a workbook read's pause ending does not turn it back on
        self._was_switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_SECONDS)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="cobro-idle-gc", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop checking; the automatic collector and the switch interval are as they were before ``start``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        sys.setswitchinterval(self._was_switch)
        release_collector(self._was_enabled)

    def _run(self) -> None:
        while not self._stop.wait(CHECK_SECONDS):
            self.tick()


class _Closing:
    """A response body that calls ``done`` once, when the server closes it (after sending it, or on an error)."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body, self._done, self._closed = body, done, False

    def __iter__(self) -> Any:
        return iter(self._body)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()


def collect_when_idle(app: Any, **kw: Any) -> IdleCollector:
    """Install an ``IdleCollector`` on a Flask ``app`` (its ``wsgi_app``) and start it; returns it (``stop()``)."""
    collector = IdleCollector(**kw)
    app.wsgi_app = collector.wrap(app.wsgi_app)
    return collector.start()
