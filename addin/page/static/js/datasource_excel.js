// Data source (2): the workbook open in Excel (the Office add-in's task pane loads the page as /?host=excel).
// It reads the ledger's tables with the Excel JavaScript API, posts them to the service's /api/tables/* routes
// (sync/table_store.py: tables in, writes out) and applies the writes inside one Excel.run: Excel writes the
// workbook the accountant has open, so nobody is asked to close it. The token is the page's (cobro.token).
// What has no tables route yet (drill-down of invoices, contacts, reconciliation) goes to the served ledger
// through the ServiceSource methods; their writes are refused while the workbook is open in Excel (409).
import { DataSourceError, hostSources, ServiceSource } from "./datasource.js";
import { applyWrites, readTables, tablesBody } from "/addin/js/excel_tables.js";
import { planSummary } from "/addin/js/service.js";

const OFFICE_JS = "/addin/office/office.js";

function loadOffice() {
  if (globalThis.Office && globalThis.Excel) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => (globalThis.Office ? globalThis.Office.onReady().then(() => resolve(), reject) : resolve());
    if (globalThis.Office) { done(); return; }
    const s = document.createElement("script");
    s.src = OFFICE_JS;
    s.onload = done;
    s.onerror = () => reject(new DataSourceError(0, { error: "office.js could not be loaded (is this page open inside Excel?)" }));
    document.head.append(s);
  });
}

export class ExcelTablesSource extends ServiceSource {
  constructor() {
    super();
    this.ready = null;
    this.lastRun = null;
  }

  async excel(fn) {
    this.ready = this.ready || loadOffice();
    await this.ready;
    if (!globalThis.Excel) throw new DataSourceError(501, { error: "the Excel JavaScript API is not available here: open this page from the Cobro tab in Excel" });
    try {
      return await globalThis.Excel.run(fn);
    } catch (e) {
      if (e instanceof DataSourceError) throw e;
      throw new DataSourceError(409, { error: e && e.message ? e.message : String(e) });
    }
  }

  async tables() { return this.excel((ctx) => readTables(ctx)); }

  async overview({ asOf = this.asOf, months } = {}) {
    const tables = await this.tables();
    return this.call("POST", "/api/tables/overview", tablesBody(tables, { ...(asOf ? { as_of: asOf } : {}),
      ...(months ? { months } : {}) }));
  }

  async previewReminders() {
    const tables = await this.tables();
    const p = await this.call("POST", "/api/tables/reminders/preview", tablesBody(tables, this.asOf ? { as_of: this.asOf } : {}));
    return { ...p, summary: planSummary(p.plan), running: false };
  }

  // Sends at once (the service's journal makes it exactly once), then writes the Contacts rows and the derived
  // invoice columns into the workbook; sendingStatus() reports the finished run to the page.
  async startSending({ expectCount } = {}) {
    const tables = await this.tables();
    const body = tablesBody(tables, { ...(this.asOf ? { as_of: this.asOf } : {}),
      ...(expectCount !== undefined ? { expect_count: expectCount } : {}) });
    let result;
    try {
      result = await this.call("POST", "/api/tables/reminders/send", body);
    } catch (e) {
      if (e.status === 502 && e.body && e.body.writes) result = e.body; // the mail server failed midway
      else throw e;
    }
    const total = ((result.send && result.send.results) || []).length;
    try {
      await this.excel((ctx) => applyWrites(ctx, result.writes));
      this.lastRun = { state: "done", done: total, total, result, status: 200,
        ...(result.error ? { error: { error: result.error }, status: 502 } : {}) };
    } catch (e) {
      this.lastRun = { state: "failed", done: total, total, result, status: 409,
        error: { error: `sent, but the workbook could not be updated: ${e.message}; the next Send writes the contacts (the send journal keeps them)` } };
    }
    return { state: "running", done: 0, total };
  }

  async sendingStatus() { return this.lastRun || { state: "idle", done: 0, total: 0 }; }
}

hostSources.excel = ExcelTablesSource;
