"""Builds the cobro ledger workbook (Excel tables, Spanish and English) — a host-side module."""

from .workbook import (
    HELPER_COLUMNS,
    SummaryLayout,
    build_workbook,
    helper_formulas,
    new_ledger,
    read_summary,
    settings_values,
    summary_layout,
)

__all__ = ["HELPER_COLUMNS", "SummaryLayout", "build_workbook", "helper_formulas", "new_ledger", "read_summary",
           "settings_values", "summary_layout"]
