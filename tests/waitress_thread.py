"""The service under waitress (the production server) on a free loopback port, in a thread, for tests and benches.

Stopped from its own loop (``trigger.pull_trigger``): closing the listening socket from another thread while the
loop sits in ``select`` made it poll a closed descriptor (``OSError: [Errno 9] Bad file descriptor``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def start(app: Any, threads: int = 4) -> tuple[Any, Callable[[], None]]:
    """``(server, stop)``: the app served on ``server.effective_port``; ``stop()`` ends it."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def stop() -> None:
        try:
            server.trigger.pull_trigger(server.close)  # closed by the loop itself, between two polls
        except OSError:  # the loop has closed its trigger already (it is ending)
            pass
        thread.join(5)
        if thread.is_alive():  # the loop did not answer: close from here
            server.close()
            thread.join(5)
        server.task_dispatcher.shutdown()

    return server, stop


@contextmanager
def running(app: Any, threads: int = 4) -> Iterator[Any]:
    """The app served while the block runs (see ``start``)."""
    server, stop = start(app, threads)
    try:
        yield server
    finally:
        stop()
