// The Office add-in's JavaScript under Node's test runner: office-addin-mock (Microsoft's mock of the Office.js
// object model) for reading tables and applying writes; the repository's Excel stand-in
// (tests/fixtures/officejs/excel_standin.js) with the real cobro service on loopback for Send, the cell functions
// and the errors shown. The service parts run when COBRO_URL, COBRO_TOKEN and COBRO_WORKBOOK are set
// (tests/test_officejs.py starts the service and a loopback SMTP server and sets them).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

import { applyWrites, fingerprint, parseAddress, readTables, tablesBody, WorkbookWriteError } from "../../addin/officejs/static/js/excel_tables.js";
import { planSummary, sumDecimals, totalsText } from "../../addin/officejs/static/js/service.js";
import { sendReminders, previewReminders } from "../../addin/officejs/static/js/commands.js";
import * as fx from "../../addin/officejs/static/js/functions.js";

const require = createRequire(import.meta.url);
const { OfficeMockObject } = require("office-addin-mock");
require("../fixtures/officejs/excel_standin.js");
const { makeExcel } = globalThis.CobroExcelStandin;

const URL_ = process.env.COBRO_URL || "";
const TOKEN = process.env.COBRO_TOKEN || "";
const WORKBOOK = process.env.COBRO_WORKBOOK || "";
const AS_OF = process.env.COBRO_AS_OF || undefined;
const live = { skip: !(URL_ && TOKEN && WORKBOOK) ? "no service (tests/test_officejs.py runs these)" : false };

// ------------------------------------------------------------------------------------- office-addin-mock

function mockWorkbook() {
  const table = (sheet, address, values) => ({
    isNullObject: false,
    range: { values, address },
    worksheet: { name: sheet },
    getRange() { return this.range; },
  });
  const data = {
    context: {
      workbook: {
        tables: {
          Invoices: table("Facturas", "Facturas!A1:C3", [["Factura", "ID cliente", "Importe"], ["F-1", "C1", 100.5], ["F-2", "C2", 7]]),
          Customers: table("Clientes", "Clientes!B4:C5", [["ID cliente", "Nombre"], ["C1", "Uno"]]),
          missing: { isNullObject: true, range: { values: [], address: "" }, worksheet: { name: "" }, getRange() { return this.range; } },
          getItemOrNullObject(key) { return this[key] || this.missing; },
        },
      },
    },
    run: async function (callback) { return callback(this.context); },
  };
  return new OfficeMockObject(data);
}

test("readTables gives each table in the protocol's shape (title, header row, headers, rows, fingerprint)", async () => {
  const Excel = mockWorkbook();
  const tables = await Excel.run((ctx) => readTables(ctx, ["Invoices", "Customers", "Payments"]));
  assert.deepEqual(tables.map((t) => t.key), ["Invoices", "Customers"]);
  const inv = tables[0];
  assert.equal(inv.title, "Facturas");
  assert.equal(inv.header_row, 1);
  assert.deepEqual(inv.headers, ["Factura", "ID cliente", "Importe"]);
  assert.deepEqual(inv.rows, [["F-1", "C1", 100.5], ["F-2", "C2", 7]]);
  assert.equal(tables[1].header_row, 4); // the header row is where the table starts (B4)
  assert.equal(tables[1]._col, 1);
  assert.equal(inv.fingerprint, await fingerprint(1, inv.headers, inv.rows));
  const body = tablesBody(tables, { as_of: "2026-11-20" });
  assert.equal(body.as_of, "2026-11-20");
  assert.equal(body.tables[1]._col, undefined); // host-only fields stay here
  // read again: the same cells keep their fingerprint; a changed cell (even through the array a caller was given)
  // gets the fingerprint of what the table holds now
  const again = await Excel.run((ctx) => readTables(ctx, ["Invoices"]));
  assert.equal(again[0].fingerprint, inv.fingerprint);
  const before = inv.fingerprint;
  again[0].rows[0][2] = 999.25;
  const changed = await Excel.run((ctx) => readTables(ctx, ["Invoices"]));
  const now = changed[0];
  assert.equal(now.fingerprint, await fingerprint(1, now.headers, now.rows));
  assert.equal(now.fingerprint !== before, JSON.stringify(now.rows) !== JSON.stringify(inv.rows.map((r, i) => i ? r : ["F-1", "C1", 100.5])));
});

test("applyWrites through office-addin-mock: set cells and append rows land on the right ranges", async () => {
  const written = [];
  const sheet = {
    name: "Facturas",
    getRangeByIndexes(r, c, nr, nc) {
      const range = { r, c, nr, nc, values: null, numberFormat: null };
      written.push(range);
      return range;
    },
  };
  const values = [["Factura", "Nivel", "Importe"], ["F-1", "", 100.5], ["F-2", "", 7], ["", "", ""]];
  const data = {
    context: { workbook: { tables: {
      Invoices: { isNullObject: false, range: { values, address: "Facturas!A1:C4" }, worksheet: sheet,
        rows: { add(index, rows) { this.added = rows; } }, getRange() { return this.range; } },
      getItemOrNullObject(key) { return this[key]; },
    } } },
    run: async function (callback) { return callback(this.context); },
  };
  const Excel = new OfficeMockObject(data);
  const fp = await fingerprint(1, values[0], values.slice(1));
  const writes = {
    tables: { Invoices: { title: "Facturas", header_row: 1, fingerprint: fp, new: false, columns: {
      invoice_id: { index: 0, header: "Factura", format: "@", new: false },
      reminder_level: { index: 1, header: "Nivel", format: "@", new: false } } } },
    edits: [
      { table: "Invoices", op: "set", row: 3, index: 1, match: { invoice_id: "F-2" }, cells: { reminder_level: "L1" } },
      { table: "Invoices", op: "append", row: 4, rows: [{ invoice_id: "F-3" }, { invoice_id: "F-4", reminder_level: null }] },
    ],
  };
  const n = await Excel.run((ctx) => applyWrites(ctx, writes));
  assert.deepEqual(n, { cells: 1, rows: 2 });
  const set = written.find((w) => w.r === 2 && w.c === 1 && w.nr === 1);
  assert.deepEqual(set.values, [["L1"]]);
  assert.deepEqual(set.numberFormat, [["@"]]);
  const inside = written.find((w) => w.r === 3 && w.nr === 1 && w.nc === 3);
  assert.deepEqual(inside.values, [["F-3", null, null]]); // null: Excel leaves that cell (a formula) alone
  assert.deepEqual(Excel.context.workbook.tables.Invoices.rows.added, [["F-4", "", null]]);
});

test("applyWrites refuses everything when a table changed or a row was sorted away (nothing queued)", async () => {
  const excel = makeExcel({ sheets: { Facturas: [["Factura", "Nivel"], ["F-1", ""], ["F-2", ""]] },
    tables: { Invoices: { sheet: "Facturas", row: 0, col: 0, rows: 3, cols: 2 } } });
  const tables = await excel.run((ctx) => readTables(ctx, ["Invoices"]));
  const writes = { tables: { Invoices: { title: "Facturas", header_row: 1, fingerprint: tables[0].fingerprint, new: false,
    columns: { invoice_id: { index: 0, header: "Factura" }, reminder_level: { index: 1, header: "Nivel" } } } },
  edits: [{ table: "Invoices", op: "set", row: 2, index: 0, match: { invoice_id: "F-1" }, cells: { reminder_level: "L1" } }] };
  excel.sortBy("Invoices", "Factura");
  const before = excel.stats.writes;
  await assert.rejects(excel.run((ctx) => applyWrites(ctx, writes)), WorkbookWriteError);
  assert.equal(excel.stats.writes, before);
  // Same order but no fingerprint to compare: the row guard still catches it.
  delete writes.tables.Invoices.fingerprint;
  await assert.rejects(excel.run((ctx) => applyWrites(ctx, writes)), /expected F-1/);
  assert.equal(excel.stats.writes, before);
});

test("addresses, exact sums and totals", () => {
  assert.deepEqual(parseAddress("'Mi hoja'!B3:D10"), { sheet: "Mi hoja", row: 2, col: 1, rows: 8, cols: 3 });
  assert.deepEqual(parseAddress("Hoja1!AA1"), { sheet: "Hoja1", row: 0, col: 26, rows: 1, cols: 1 });
  assert.equal(sumDecimals(["0.1", "0.2"]), "0.3");
  assert.equal(sumDecimals(["1250.10", "-0.10", "3"]), "1253.00");
  assert.equal(sumDecimals(["999999999999999.99", "0.01"]), "1000000000000000.00");
  const s = planSummary({ items: [{ channel: "email", totals: { EUR: "10.10" } }, { channel: "letter", totals: { EUR: "0.20", USD: "5" } }] });
  assert.deepEqual(s, { count: 2, emails: 1, channels: { email: 1, letter: 1 }, totals: { EUR: "10.30", USD: "5" } });
  assert.equal(totalsText({ EUR: "1234567.50" }, "es"), "1.234.567,50 EUR");
});

// ------------------------------------------------------------------------------------- with the service

function loadWorkbook() { return JSON.parse(readFileSync(WORKBOOK, "utf8")); }

function ui(answer, seen) {
  return {
    displayDialogAsync(url, opts, cb) {
      const q = new URL(url).searchParams;
      seen.push({ message: q.get("m"), buttons: q.get("b") });
      const handlers = {};
      cb({ status: "succeeded", value: {
        addEventHandler(kind, h) { handlers[kind] = h; if (kind === "dialogMessageReceived") setTimeout(() => h({ message: q.get("b").includes("send:") ? answer : "ok" }), 0); },
        close() {},
      } });
    },
  };
}

test("Send: tables in, count and total confirmed, sent once, Contacts rows and invoice columns applied", live, async () => {
  const excel = makeExcel(loadWorkbook());
  const contactsBefore = excel.records("Contacts").length;
  const seen = [];
  const out = await sendReminders({ Excel: excel, ui: ui("send", seen), base: URL_, token: TOKEN, asOf: AS_OF });
  assert.equal(out.state, "sent", JSON.stringify(out).slice(0, 2000));
  assert.match(seen[0].message, /^¿Enviar \d+ recordatorios/);
  assert.ok(seen[0].message.includes(String(out.summary.count)));
  const sent = out.result.send.results.filter((r) => r.status === "sent").length;
  assert.ok(sent > 0);
  const contacts = excel.records("Contacts");
  assert.equal(contacts.length, contactsBefore + out.result.logged_contacts);
  assert.ok(out.result.logged_contacts >= sent);
  assert.match(seen.at(-1).message, /enviados/);
  console.log(`# officejs-sent ${JSON.stringify(out.result.send.results.filter((r) => r.status === "sent").map((r) => r.message_id))}`);
  // Pressed again: nothing more goes out (the journal), the workbook already holds the contacts.
  const again = await sendReminders({ Excel: excel, ui: ui("send", []), base: URL_, token: TOKEN, asOf: AS_OF });
  assert.ok(["nothing", "sent"].includes(again.state));
  if (again.state === "sent") assert.equal(again.result.send.results.filter((r) => r.status === "sent").length, 0);
  assert.equal(excel.records("Contacts").length, contacts.length + (again.result ? again.result.logged_contacts : 0));
});

test("Send cancelled at the confirmation sends nothing and writes nothing", live, async () => {
  const excel = makeExcel(loadWorkbook());
  const seen = [];
  const out = await sendReminders({ Excel: excel, ui: ui("cancel", seen), base: URL_, token: TOKEN, asOf: AS_OF });
  assert.ok(["cancelled", "nothing"].includes(out.state));
  assert.equal(excel.stats.writes, 0);
});

test("errors are shown: a bad cell is named by sheet, row and column; nothing written", live, async () => {
  const data = loadWorkbook();
  const t = data.tables.Invoices;
  const hdr = data.sheets[t.sheet][t.row];
  const col = hdr.findIndex((h) => /^(Importe|Amount)$/.test(String(h)));
  data.sheets[t.sheet][t.row + 2][t.col + col] = "doce euros";
  const excel = makeExcel(data);
  const seen = [];
  const out = await sendReminders({ Excel: excel, ui: ui("send", seen), base: URL_, token: TOKEN, asOf: AS_OF });
  assert.equal(out.state, "failed");
  assert.match(seen[0].message, new RegExp(`${t.sheet}, (fila|row) ${t.row + 3}, (columna|column) "(Importe|Amount)"`), seen[0].message);
  assert.equal(excel.stats.writes, 0);
  // No token: said plainly, nothing asked of the service.
  const seen2 = [];
  const out2 = await previewReminders({ Excel: excel, ui: ui("ok", seen2), base: URL_, token: "", asOf: AS_OF });
  assert.equal(out2.state, "failed");
  assert.match(seen2[0].message, /token/);
});

// The cell functions' runtime on a fresh stand-in of the demo workbook, talking to the live service; `seen(url,
// init)` is told of every request. Returns the stand-in and the as-of date as a serial number.
function liveFunctions(seen) {
  const excel = makeExcel(loadWorkbook());
  Object.assign(fx.runtime, { Excel: excel, base: URL_, token: TOKEN,
    fetchImpl: (url, init) => { seen(url, init); return fetch(url, init); } });
  fx.runtime.cache.clear();
  return { excel, serial: AS_OF ? fx.isoToSerial(AS_OF) : undefined };
}

test("cell functions: spilled tables of numbers and serial dates; 50 concurrent calls share one request per function kind", live, async () => {
  let requests = 0;
  const { serial } = liveFunctions(() => { requests += 1; });
  const calls = Array.from({ length: 50 }, (_, i) => [fx.aging, fx.kpis, fx.worklist][i % 3](serial));
  const results = await Promise.all(calls);
  assert.equal(requests, 3); // one per kind (AGING, KPIS, WORKLIST): none waits for another's report
  const aging = results[0];
  assert.deepEqual(aging[0].slice(0, 3), ["customer_id", "currency", "not_due"]);
  assert.ok(aging.length > 1);
  for (const row of aging.slice(1)) for (const v of row.slice(2)) assert.equal(typeof v, "number");
  const kpis = results[1];
  assert.equal(kpis[0][0], "currency");
  assert.equal(typeof kpis[1][1], "number");
  assert.equal(kpis[1][9], serial ?? kpis[1][9]); // period end = the as-of date, as a serial number
  const wl = results[2];
  assert.equal(wl[0][0], "rank");
  const first = wl[1][1];
  const next = await fx.nextaction(first, serial);
  assert.equal(next.length, 1);
  assert.equal(typeof next[0][1], "number");
  assert.equal(requests, 3); // NEXTACTION shares WORKLIST's answer
  assert.deepEqual(await fx.nextaction("NO-SUCH", serial), [["", "", ""]]);
});

test("=COBRO.FORECAST: weeks per currency (numbers, serial dates), one amount for a week; unchanged tables travel as fingerprints", live, async () => {
  const bodies = [];
  const { excel, serial } = liveFunctions((url, init) => { bodies.push([url, JSON.parse(init.body)]); });
  fx.runtime.held.clear();
  const [all, eur, one] = await Promise.all([fx.forecast(serial), fx.forecast(serial, "EUR"), fx.forecast(serial, "eur", 2)]);
  assert.equal(bodies.length, 1); // one request for every cell asking the same day
  assert.ok(bodies[0][0].endsWith("/api/tables/forecast"));
  assert.ok(bodies[0][1].tables.every((t) => Array.isArray(t.rows))); // the first time, whole
  assert.deepEqual(all[0], ["week", "start", "end", "currency", "expected"]);
  assert.deepEqual(eur.slice(1, 14).map((r) => r[0]), Array.from({ length: 13 }, (_, i) => i + 1));
  assert.equal(eur[14][0], "later");
  for (const r of eur.slice(1)) { assert.equal(r[3], "EUR"); assert.equal(typeof r[4], "number"); }
  if (serial !== undefined) assert.deepEqual(eur[1].slice(1, 3), [serial + 1, serial + 7]);
  assert.deepEqual(one, [[eur[2][4]]]);
  // never a sum across currencies: each row is one currency's
  const currencies = new Set(all.slice(1).map((r) => r[3]));
  assert.equal(all.length - 1, currencies.size * 14);
  // the service's exact decimals, as numbers
  const direct = await fx.postTables("/api/tables/forecast", await excel.run((ctx) => readTables(ctx, ["Settings", "Customers", "Invoices", "Payments", "Contacts", "Plans", "Levels"])), { weeks: 13, ...(AS_OF ? { as_of: AS_OF } : {}) });
  assert.equal(eur[3][4], Number(direct.weeks[2].inflow.EUR));
  assert.match(direct.weeks[2].inflow.EUR, /^-?\d+\.\d{2}$/);
  assert.ok(bodies.at(-1)[1].tables.every((t) => !("rows" in t) && t.fingerprint)); // held: fingerprints only
  // a later recalculation reads the tables again: unchanged, the answer is the one held (no request)
  const before = bodies.length;
  assert.deepEqual(await fx.forecast(serial, "EUR"), eur);
  assert.equal(bodies.length, before);
  // answers forgotten (another runtime): the unchanged tables travel as fingerprints, the answer is the same
  fx.runtime.cache.clear();
  assert.deepEqual(await fx.forecast(serial, "EUR"), eur);
  assert.ok(bodies.at(-1)[1].tables.every((t) => !("rows" in t) && t.fingerprint));
  await assert.rejects(fx.forecast(serial, "EUR", 14), /week/);
});

test("cell functions read the tables at every recalculation: a change is seen with no change event, none asked twice; the edited row travels alone", live, async () => {
  let requests = 0;
  const bodies = [];
  const { excel, serial } = liveFunctions((url, init) => { requests += 1; bodies.push(JSON.parse(init.body)); });
  const before = await fx.aging(serial);
  assert.equal(requests, 1);
  assert.deepEqual(await fx.aging(serial), before); // a recalculation with nothing changed: read, no request
  assert.equal(requests, 1);
  // an invoice amount edited (the stand-in raises no event, as a late one would not have arrived yet)
  const wb = excel.workbook;
  const t = wb.tables.Invoices;
  const header = wb.sheets[t.sheet][t.row];
  const col = t.col + header.findIndex((h) => /^(Importe|Amount)$/.test(String(h)));
  const row = wb.sheets[t.sheet][t.row + 1];
  row[col] = Math.round((Number(row[col]) + 100) * 100) / 100;
  const after = await fx.aging(serial);
  assert.equal(requests, 2);
  assert.notDeepEqual(after, before);
  const total = (tbl) => tbl.slice(1).reduce((s, r) => s + r[r.length - 1], 0);
  assert.ok(Math.abs(total(after) - total(before) - 100) < 0.005);
  // the edited row only, as a patch of the version the service holds; the other tables by fingerprint
  const sent = bodies.at(-1).tables;
  const inv = sent.find((x) => x.key === "Invoices");
  assert.deepEqual(inv.patch, [[0, row.slice(t.col, t.col + t.cols)]]);
  assert.equal(inv.length, t.rows - 1);
  assert.ok(inv.base && inv.fingerprint && inv.base !== inv.fingerprint && !("rows" in inv) && !("headers" in inv));
  assert.ok(sent.filter((x) => x.key !== "Invoices").every((x) => !("rows" in x) && !("patch" in x)));
  // a read in between that the service never got (the task pane's): the patch is of the version it holds
  const held = inv.fingerprint;
  const rowAt = (i) => wb.sheets[t.sheet][t.row + 1 + i];
  rowAt(1)[col] = Math.round((Number(rowAt(1)[col]) + 1) * 100) / 100;
  await excel.run((ctx) => readTables(ctx, ["Settings", "Customers", "Invoices", "Payments", "Contacts", "Plans", "Levels"]));
  rowAt(2)[col] = Math.round((Number(rowAt(2)[col]) + 1) * 100) / 100;
  const later = await fx.aging(serial);
  const inv2 = bodies.at(-1).tables.find((x) => x.key === "Invoices");
  assert.equal(inv2.base, held);
  assert.deepEqual(inv2.patch.map(([i]) => i), [1, 2]);
  assert.ok(Math.abs(total(later) - total(after) - 2) < 0.005);
  // a new invoice typed at the bottom of the table: that row alone travels
  const sheet = wb.sheets[t.sheet];
  const last = sheet[t.row + t.rows - 1].slice();
  const idCol = t.col + header.findIndex((h) => /^(Factura|Invoice)$/.test(String(h)));
  last[idCol] = "F-NUEVA-1";
  sheet.splice(t.row + t.rows, 0, last);
  t.rows += 1;
  const grown = await fx.aging(serial);
  const inv3 = bodies.at(-1).tables.find((x) => x.key === "Invoices");
  assert.deepEqual(inv3.patch.map(([i]) => i), [t.rows - 2]);
  assert.equal(inv3.length, t.rows - 1);
  // what the whole tables give (a runtime whose service holds nothing)
  fx.runtime.cache.clear();
  fx.runtime.held.clear();
  assert.deepEqual(await fx.aging(serial), grown);
  assert.ok(bodies.at(-1).tables.every((x) => Array.isArray(x.rows)));
});
