"""The cobro page: one web page (worklist, aging/KPIs, reconciliation review, reminders) served by the service.

``addin.page.routes.register_page(app)`` adds the page at ``/``, its static files at ``/page/static/…`` and the
JSON routes it needs under ``/api/page/…``. The page itself is plain HTML/CSS/JS in ``static/``; it reads and
writes the ledger through a data source (``static/js/datasource.js``) so the same page can later run inside the
Excel add-in's task pane and the Google Sheets sidebar.
"""
