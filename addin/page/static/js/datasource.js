// The page reads and writes the ledger through a data source, so the same page serves three places:
//   (1) ServiceSource — a ledger the cobro service holds (a workbook file today): the page calls its JSON API;
//   (2) ExcelSource  — the workbook open in Excel (the add-in reads the tables with the Excel JavaScript API, posts
//                      them as table JSON and applies the writes the service returns) — the Excel issue fills it in;
//   (3) SheetsSource — the Google Sheets sidebar (google.script.run) — the Sheets issue fills it in.
//
// Every data source implements these methods; each returns a Promise of the JSON the service's routes return
// (documented in openapi.yaml) and rejects with a DataSourceError:
//   overview({asOf, months})                      -> {locale, company, as_of, worklist, aging, kpis}
//   invoices({customerId, bucket, currency})      -> {rows, count}
//   logContact(body)                              -> {logged}           (body as POST /api/contacts)
//   setPaused(customerId, paused, notes)          -> {status}
//   propose({text} | {file: File}, {auto})        -> reconcile result  (proposals, counts, warnings)
//   matches()                                     -> {rows}            (the Matches sheet)
//   decide(decisions)                             -> {decided}
//   applyMatches()                                -> {applied_lines, payments_added, payments}
//   previewReminders()                            -> {plan, summary, running}
//   startSending({expectCount})                   -> {state, done, total}
//   sendingStatus()                               -> {state, done, total, result?, error?, status?}
//   forecast({weeks, backtest})                   -> {as_of, weeks: [{start, inflow}], later, open_invoices, backtest?}

export class DataSourceError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;   // 0: the service could not be reached
    this.body = body || {}; // {error, field?, problems?: [{sheet,row,column,message} | {template,line,...}]}
  }
}

const TOKEN_KEY = "cobro.token";

export class ServiceSource {
  constructor(base = "") {
    this.base = base;
    this.token = ServiceSource.readToken();
    // ?as_of=YYYY-MM-DD works the page as of that day (default: today in the company's time zone).
    this.asOf = new URLSearchParams(location.search).get("as_of") || undefined;
  }

  // A token in the URL fragment (/#token=…) signs in and is then removed from the address bar.
  static readToken() {
    const m = /(?:^#|&)token=([^&]+)/.exec(location.hash || "");
    if (m) {
      localStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return localStorage.getItem(TOKEN_KEY) || "";
  }

  setToken(token) {
    this.token = token.trim();
    if (this.token) localStorage.setItem(TOKEN_KEY, this.token);
    else localStorage.removeItem(TOKEN_KEY);
  }

  hasToken() { return Boolean(this.token); }

  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(this.base + path, init);
    } catch (e) {
      throw new DataSourceError(0, { error: String(e) });
    }
    let data = {};
    try { data = await resp.json(); } catch (e) { data = { error: `HTTP ${resp.status}` }; }
    if (!resp.ok && resp.status !== 202) throw new DataSourceError(resp.status, data);
    return data;
  }

  overview({ asOf = this.asOf, months } = {}) {
    const q = new URLSearchParams();
    if (asOf) q.set("as_of", asOf);
    if (months) q.set("months", String(months));
    const qs = q.toString();
    return this.call("GET", `/api/page/overview${qs ? "?" + qs : ""}`);
  }

  invoices({ customerId, bucket, currency, asOf = this.asOf } = {}) {
    const q = new URLSearchParams();
    if (customerId) q.set("customer_id", customerId);
    if (bucket) q.set("bucket", bucket);
    if (currency) q.set("currency", currency);
    if (asOf) q.set("as_of", asOf);
    return this.call("GET", `/api/page/invoices?${q}`);
  }

  logContact(body) { return this.call("POST", "/api/contacts", { user: "page", as_of: this.asOf, ...body }); }

  setPaused(customerId, paused, notes = "") {
    return this.call("POST", "/api/page/pause", { customer_id: customerId, paused, notes, as_of: this.asOf });
  }

  async propose(input, { auto = true } = {}) {
    let statement;
    if (input.file) {
      const bytes = new Uint8Array(await input.file.arrayBuffer());
      statement = { filename: input.file.name.replace(/[\\/]/g, "_") || "statement", content_base64: toBase64(bytes) };
    } else {
      statement = { filename: "pasted.tsv", content_base64: toBase64(new TextEncoder().encode(input.text)) };
    }
    return this.call("POST", "/api/reconcile", { statement, auto, as_of: this.asOf });
  }

  matches() { return this.call("GET", "/api/page/matches"); }

  decide(decisions) { return this.call("POST", "/api/page/matches", { decisions }); }

  applyMatches() { return this.call("POST", "/api/reconcile/apply", { as_of: this.asOf }); }

  previewReminders() { return this.call("POST", "/api/page/preview", { as_of: this.asOf }); }

  startSending({ expectCount } = {}) {
    return this.call("POST", "/api/page/send", { as_of: this.asOf, expect_count: expectCount });
  }

  sendingStatus() { return this.call("GET", "/api/page/send"); }

  // The weekly expected cash-in per currency (GET /api/page/forecast); with backtest, the measured error too.
  forecast({ weeks = 13, backtest = false, asOf = this.asOf } = {}) {
    const q = new URLSearchParams({ weeks: String(weeks), limit: "0" });
    if (backtest) q.set("backtest", "1");
    if (asOf) q.set("as_of", asOf);
    return this.call("GET", `/api/page/forecast?${q}`);
  }
}

function toBase64(bytes) {
  let bin = "";
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + step));
  return btoa(bin);
}

// The seams for the two other places. They keep the interface above; until their issues land they say so.
class NotYetSource {
  constructor(where) { this.where = where; }
  hasToken() { return true; }
  setToken() {}
  fail() {
    return Promise.reject(new DataSourceError(501, { error: `the cobro page inside ${this.where} is not available yet` }));
  }
}
for (const name of ["overview", "invoices", "logContact", "setPaused", "propose", "matches", "decide",
  "applyMatches", "previewReminders", "startSending", "sendingStatus", "forecast"]) {
  NotYetSource.prototype[name] = function () { return this.fail(); };
}

export class ExcelSource extends NotYetSource { constructor() { super("Excel"); } }
// A host's own data source registers here (datasource_excel.js: the Office add-in's task pane).
export const hostSources = {};
export class SheetsSource extends NotYetSource { constructor() { super("Google Sheets"); } }

// ?host=excel / ?host=sheets selects the host's data source (the add-in and the sidebar load the page that way).
export function makeDataSource() {
  const host = new URLSearchParams(location.search).get("host");
  if (host === "excel") return new (hostSources.excel || ExcelSource)();
  if (host === "sheets") return new SheetsSource();
  return new ServiceSource();
}
