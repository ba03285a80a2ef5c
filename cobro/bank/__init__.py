"""Bank statements: one importer interface, one small importer per format (pure: bytes in)."""
