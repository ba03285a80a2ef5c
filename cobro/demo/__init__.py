"""Demo and test data for cobro (pure, deterministic): a realistic ledger and labelled bank statements.

- ``cobro.demo.generate``: ``generate_ledger`` — customers, a year of invoices, payments and a contact history,
  for ``cobro demo``, the tests and the benchmarks;
- ``cobro.demo.statement_gen``: bank statements with a label per line (which invoice it pays) for measuring the
  matcher.

Nothing in the product's logic imports this package; only the demo command, tests and benchmarks do.
"""
