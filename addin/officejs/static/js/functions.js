// Cell functions in the COBRO namespace (=COBRO.AGING(TODAY()), =COBRO.KPIS(TODAY(),3), =COBRO.WORKLIST(TODAY(),20),
// =COBRO.NEXTACTION("C0042"), =COBRO.FORECAST(TODAY(),"EUR")). They run in the add-in's shared runtime
// (runtime.html) and read the ledger's tables through the Excel API at every recalculation: the calls Excel hands
// over together share one read, and no answer ever comes from tables read before the recalculation (a change event
// may reach the runtime after the recalculation it caused, so events are not trusted to say "nothing changed").
// Every cell asking for the same report and day of the same tables (their fingerprints) shares one answer: a
// recalculation of 50 cells is one read and at most one request per kind of function (=COBRO.AGING never waits for
// the worklist), and none when the tables are as before. The service keeps the tables it was sent, their parse and
// its answers by fingerprint: a table it already holds is sent as its fingerprint only, and after an edit only the
// rows that changed travel, as a patch of the version it holds (it then reads and types only those rows).
// Amounts come back as numbers (summable, chartable) and dates as Excel serial numbers (format the cells as dates).
// functions.json is generated from the JSDoc below by Microsoft's custom-functions-metadata (tests compare it).
import { deltaOf, readTables, tablesBody } from "./excel_tables.js";
import { post, ServiceError, storedToken } from "./service.js";

const SUMMARY_TABLES = ["Settings", "Customers", "Invoices", "Payments", "Contacts", "Plans", "Levels"];
const EPOCH = Date.UTC(1899, 11, 30);

// held: the fingerprint of each table the service holds (for `heldBy`, the service and token it was sent to);
// sending: `key|fingerprint` -> the request under way that sends that table whole (the others wait for it);
// reading: the read of the current recalculation; cache: the answers for the tables' state `state` (fingerprints).
export const runtime = { Excel: globalThis.Excel, base: "", token: null, fetchImpl: null, cache: new Map(),
  state: "", reading: null, held: new Map(), heldBy: "", sending: new Map() };

export function serialToIso(serial) {
  return new Date(EPOCH + Math.floor(Number(serial)) * 86400000).toISOString().slice(0, 10);
}

export function isoToSerial(iso) {
  if (!iso) return "";
  const [y, m, d] = String(iso).slice(0, 10).split("-").map(Number);
  return Math.round((Date.UTC(y, m - 1, d) - EPOCH) / 86400000);
}

// A decimal string from the service as a cell number (the cell is a double in Excel anyway); blank stays blank.
export function num(v) {
  if (v === null || v === undefined || v === "") return "";
  const n = Number(v);
  return Number.isFinite(n) ? n : "";
}

function asOfText(asOf) {
  if (asOf === null || asOf === undefined || asOf === "") return undefined;
  if (typeof asOf === "number") return serialToIso(asOf);
  return String(asOf).slice(0, 10);
}

// The tables as the workbook holds them now, read once for the calls of one recalculation: Excel hands them over
// in one turn, and a call joins a read only while that read is under way and was started in its turn (so the read
// reaches Excel after whatever caused the call). Excel.run is the slow part.
function tablesNow() {
  if (!runtime.reading) {
    const reading = runtime.Excel.run((ctx) => readTables(ctx, SUMMARY_TABLES));
    runtime.reading = reading;
    const done = () => { if (runtime.reading === reading) runtime.reading = null; };
    setTimeout(done, 0);
    reading.then(done, done);
  }
  return runtime.reading;
}

// The request body with each table the service already holds as {key, title, header_row, fingerprint} only, and
// each that changed in a few rows since the version the service holds as a patch of it (those rows only).
export function referencedBody(tables, extra = {}) {
  const body = tablesBody(tables, extra);
  body.tables = body.tables.map((t, i) => {
    const ref = { key: t.key, title: t.title, header_row: t.header_row, fingerprint: t.fingerprint };
    if (t.fingerprint && runtime.held.get(t.key) === t.fingerprint) return ref;
    const delta = heldDelta(tables[i]);
    return delta ? { ...ref, base: delta.base, length: t.rows.length, patch: delta.at.map((j) => [j, t.rows[j]]) } : t;
  });
  return body;
}

// The change of table `t` since the version the service holds (its rows to send), or undefined.
function heldDelta(t) {
  const held = runtime.held.get(t.key);
  return t.fingerprint && held ? deltaOf(t, held) : undefined;
}

// POST the tables to `path`: unchanged tables by fingerprint; whole again when the service no longer holds them.
export async function postTables(path, tables, extra = {}) {
  const token = runtime.token ?? storedToken();
  const opts = { base: runtime.base, token, fetchImpl: runtime.fetchImpl || globalThis.fetch };
  if (runtime.heldBy !== `${runtime.base}|${token}`) {
    runtime.held.clear();
    runtime.heldBy = `${runtime.base}|${token}`;
  }
  // A table that must travel whole travels once: requests asking at the same time wait for the one sending it,
  // then name it by its fingerprint (when that one failed, they send it themselves). A patch of a few rows is sent
  // by each request at once: none waits for another's report.
  const unsent = () => tables.filter((t) => t.fingerprint && runtime.held.get(t.key) !== t.fingerprint && !heldDelta(t))
    .map((t) => `${t.key}|${t.fingerprint}`);
  const waits = unsent().filter((k) => runtime.sending.has(k)).map((k) => runtime.sending.get(k));
  if (waits.length) await Promise.allSettled(waits);
  const request = (async () => {
    let data;
    try {
      data = await post(path, referencedBody(tables, extra), opts);
    } catch (e) {
      if (!(e instanceof ServiceError && e.status === 409 && e.body && e.body.resend)) throw e;
      runtime.held.clear(); // the service was restarted or dropped them: everything again, once
      data = await post(path, tablesBody(tables, extra), opts);
    }
    for (const [k, fp] of Object.entries(data.fingerprints || {})) runtime.held.set(k, fp);
    return data;
  })();
  for (const k of unsent()) {
    if (runtime.sending.has(k)) continue;
    runtime.sending.set(k, request);
    request.then(() => {}, () => {}).finally(() => { if (runtime.sending.get(k) === request) runtime.sending.delete(k); });
  }
  return request;
}

// One answer of the service per state of the tables and `key`, shared by every cell asking the same.
async function shared(key, path, extra) {
  const tables = await tablesNow();
  const state = tables.map((t) => `${t.key}:${t.fingerprint}`).join("|");
  if (state !== runtime.state) { // the tables changed: earlier answers are of another workbook state
    runtime.cache.clear();
    runtime.state = state;
  }
  let pending = runtime.cache.get(key);
  if (!pending) {
    pending = postTables(path, tables, extra);
    runtime.cache.set(key, pending);
    // an error is not remembered: the next recalculation asks again
    pending.catch(() => { if (runtime.cache.get(key) === pending) runtime.cache.delete(key); });
  }
  return pending;
}

// The service's summary of the workbook as of `asOf` (ISO) for `months`, shared by every cell asking the same;
// with `part` (aging, kpis, worklist), only that report (only the KPIs depend on the months).
export function summary(asOf, months = 3, part = "") {
  const m = part && part !== "kpis" ? 3 : months;
  return shared(`summary|${part}|${asOf || ""}|${m}`, "/api/tables/summary",
    { months: m, ...(part ? { parts: [part] } : {}), ...(asOf ? { as_of: asOf } : {}) });
}

// The service's cash-in forecast as of `asOf` for `weeks` weeks (every currency; cells pick theirs).
export function forecastOf(asOf, weeks = 13) {
  return shared(`forecast|${asOf || ""}|${weeks}`, "/api/tables/forecast", { weeks, ...(asOf ? { as_of: asOf } : {}) });
}

function failure(e) {
  const CF = globalThis.CustomFunctions;
  const text = e && e.message ? e.message : String(e);
  if (CF && CF.Error) return new CF.Error(CF.ErrorCode.notAvailable, text.slice(0, 250));
  return new Error(text);
}

export function agingTable(s) {
  const a = s.aging;
  const header = ["customer_id", "currency", "not_due", ...a.buckets, "total_due", "outstanding"];
  const rows = a.rows.filter((r) => Number(r.outstanding) !== 0 || Number(r.total_due) !== 0 || Number(r.not_due) !== 0)
    .map((r) => [r.customer_id, r.currency, num(r.not_due), ...r.buckets.map(num), num(r.total_due), num(r.outstanding)]);
  return [header, ...rows];
}

export function kpisTable(s) {
  const k = s.kpis;
  const header = ["currency", "ar", "current_ar", "dso", "countback_dso", "best_dso", "add", "cei", "period_start",
    "period_end"];
  const rows = Object.entries(k.currencies || {}).map(([cur, v]) => [cur, num(v.ar), num(v.current_ar), num(v.dso),
    num(v.countback_dso), num(v.best_dso), num(v.add), num(v.cei), isoToSerial(k.period && k.period.start),
    isoToSerial(k.period && k.period.end)]);
  return [header, ...rows];
}

export function worklistTable(s, top = 0) {
  const header = ["rank", "customer_id", "name", "next_action", "level", "oldest_days", "currency", "overdue", "reason"];
  let rows = s.worklist.rows;
  if (top > 0) rows = rows.slice(0, top);
  const out = [];
  for (const r of rows) {
    const overdue = Object.entries(r.overdue || {});
    for (const [cur, amount] of overdue.length ? overdue : [["", ""]]) {
      out.push([r.rank, r.customer_id, r.name, r.next_action, r.level, r.oldest_days, cur, num(amount), r.reason]);
    }
  }
  return [header, ...out];
}

export function nextActionRow(s, customer) {
  const r = s.worklist.rows.find((x) => x.customer_id === String(customer));
  if (!r) return [["", "", ""]];
  return [[r.next_action, isoToSerial(s.as_of), r.reason]];
}

/**
 * Aging per customer and currency: not yet due, each overdue bucket, total overdue and outstanding (numbers).
 * @customfunction AGING
 * @param {number} [asOf] The as-of date (e.g. TODAY()); default: today in the company's time zone.
 * @returns {any[][]} A spilled table with a header row.
 */
export async function aging(asOf) {
  try { return agingTable(await summary(asOfText(asOf), 3, "aging")); } catch (e) { throw failure(e); }
}

/**
 * Collection KPIs per currency: receivables, DSO, countback DSO, best possible DSO, ADD and CEI.
 * @customfunction KPIS
 * @param {number} [asOf] The as-of date (e.g. TODAY()).
 * @param {number} [months] The period in months (1 to 36); default 3.
 * @returns {any[][]} A spilled table with a header row; period dates as serial numbers.
 */
export async function kpis(asOf, months) {
  const m = months === null || months === undefined || months === "" ? 3 : Math.trunc(Number(months));
  try { return kpisTable(await summary(asOfText(asOf), m, "kpis")); } catch (e) { throw failure(e); }
}

/**
 * The worklist: whom to contact first, why, and what to do next (one row per customer and currency).
 * @customfunction WORKLIST
 * @param {number} [asOf] The as-of date (e.g. TODAY()).
 * @param {number} [top] Only the first N customers; default all.
 * @returns {any[][]} A spilled table with a header row.
 */
export async function worklist(asOf, top) {
  try { return worklistTable(await summary(asOfText(asOf), 3, "worklist"), Math.trunc(Number(top) || 0)); } catch (e) { throw failure(e); }
}

/**
 * The next action for one customer: what to do, on which date (a serial number) and why.
 * @customfunction NEXTACTION
 * @param {string} customer The customer's id (Customers sheet).
 * @param {number} [asOf] The as-of date (e.g. TODAY()).
 * @returns {any[][]} One row: action, date, reason (blank when nothing is due).
 */
export async function nextaction(customer, asOf) {
  try { return nextActionRow(await summary(asOfText(asOf), 3, "worklist"), customer); } catch (e) { throw failure(e); }
}

// The forecast as cells: [week, start, end, currency, expected] per week and currency (week "later": after the
// last week), or the single amount of week N in one currency. Currencies are never added together.
export function forecastTable(f, currency = "", week = 0) {
  const cur = String(currency || "").trim().toUpperCase();
  const currencies = (f.currencies || []).filter((c) => !cur || c === cur);
  if (cur && !currencies.length) return week ? [[0]] : [["week", "start", "end", "currency", "expected"]];
  if (week) {
    const w = f.weeks.find((x) => x.week === week);
    if (!w) throw new Error(`week ${week} is not among the ${f.weeks.length} weeks forecast`);
    if (cur) return [[num(w.inflow[cur] ?? "0")]];
    return [["week", "start", "end", "currency", "expected"],
      ...currencies.map((c) => [w.week, isoToSerial(w.start), isoToSerial(w.end), c, num(w.inflow[c] ?? "0")])];
  }
  const rows = [];
  for (const c of currencies) {
    for (const w of f.weeks) rows.push([w.week, isoToSerial(w.start), isoToSerial(w.end), c, num(w.inflow[c] ?? "0")]);
    rows.push(["later", isoToSerial(f.later_from), "", c, num((f.later || {})[c] ?? "0")]);
  }
  return [["week", "start", "end", "currency", "expected"], ...rows];
}

/**
 * Expected cash-in per week and currency (when open invoices will be paid); with a currency and a week, one amount.
 * @customfunction FORECAST
 * @param {number} [asOf] The as-of date (e.g. TODAY()); week 1 starts the day after.
 * @param {string} [currency] Only this currency (e.g. "EUR"); default every currency, never added together.
 * @param {number} [week] Only week N (1 to weeks); with a currency, the single amount.
 * @param {number} [weeks] Weeks forecast (1 to 104); default 13.
 * @returns {any[][]} A spilled table with a header row, or one amount.
 */
export async function forecast(asOf, currency, week, weeks) {
  const n = weeks === null || weeks === undefined || weeks === "" ? 13 : Math.trunc(Number(weeks));
  const w = week === null || week === undefined || week === "" ? 0 : Math.trunc(Number(week));
  try {
    if (!(n >= 1 && n <= 104)) throw new Error(`weeks: ${weeks} is not a whole number from 1 to 104`);
    if (!(w >= 0 && w <= n)) throw new Error(`week: ${week} is not a week from 1 to ${n}`);
    return forecastTable(await forecastOf(asOfText(asOf), n), currency, w);
  } catch (e) { throw failure(e); }
}

export function registerFunctions(CustomFunctions, Excel) {
  runtime.Excel = Excel;
  CustomFunctions.associate("AGING", aging);
  CustomFunctions.associate("KPIS", kpis);
  CustomFunctions.associate("WORKLIST", worklist);
  CustomFunctions.associate("NEXTACTION", nextaction);
  CustomFunctions.associate("FORECAST", forecast);
}
