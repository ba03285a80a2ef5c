"""Desktop Excel through open-source xlwings (no server mode, no paid licence)."""
