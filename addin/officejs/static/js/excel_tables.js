// The ledger's tables through the Excel JavaScript API: read them in the table JSON protocol (sync/table_store.py,
// openapi.yaml LedgerTables) and apply the writes the service answers (TableWrites) inside ONE Excel.run — the
// workbook stays open; Excel is the one that writes it.
//
// Used by the ribbon commands (commands.js), the cell functions (functions.js) and the task pane's data source
// (addin/page/static/js/datasource_excel.js). Nothing here talks to the network.

// Canonical keys of the ledger's Excel tables (each sheet holds one table named by its key).
export const LEDGER_TABLES = ["Settings", "Customers", "Invoices", "Payments", "Contacts", "Plans", "Levels",
  "Templates", "Statement", "Matches"];

export class WorkbookWriteError extends Error {
  constructor(message, detail = {}) {
    super(message);
    this.name = "WorkbookWriteError";
    this.detail = detail;
  }
}

// "Facturas!A1:N101" / "'My sheet'!B3:C9" -> {sheet, row, col, rows, cols} (0-based row/col of the top-left).
export function parseAddress(address) {
  const bang = address.lastIndexOf("!");
  let sheet = bang >= 0 ? address.slice(0, bang) : "";
  if (sheet.startsWith("'") && sheet.endsWith("'")) sheet = sheet.slice(1, -1).replace(/''/g, "'");
  const ref = bang >= 0 ? address.slice(bang + 1) : address;
  const m = /^\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?$/i.exec(ref);
  if (!m) throw new Error(`not a range address: ${address}`);
  const col = colIndex(m[1]);
  const row = Number(m[2]) - 1;
  const col2 = m[3] ? colIndex(m[3]) : col;
  const row2 = m[4] ? Number(m[4]) - 1 : row;
  return { sheet, row, col, rows: row2 - row + 1, cols: col2 - col + 1 };
}

function colIndex(letters) {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

// The fingerprint cobro computes when a host sends none, computed here so the host can re-check before writing:
// "sha256:" + hex(sha256(JSON.stringify([header_row, headers, rows]))).
export async function fingerprint(headerRow, headers, rows) {
  const text = JSON.stringify([headerRow, headers, rows]);
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return "sha256:" + Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// The last reads of each table (a copy of its cells and its fingerprint, the newest first): a table read again with
// the same cells keeps its fingerprint without hashing again (a recalculation reads every table; most never change).
// The fingerprint is a function of the cells alone, so reusing it is exact. A few versions are kept so that a change
// can be sent as a patch of whichever the service holds (the task pane may have read the tables in between).
const lastRead = new Map();
const VERSIONS_KEPT = 3;

function sameRow(x, y) {
  if (x.length !== y.length) return false;
  for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  return true;
}

function sameRows(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameRow(a[i], b[i])) return false;
  return true;
}

// The indexes of the rows of `rows` that differ from `before`'s (rows past the end of `before` included).
export function changedRows(before, rows) {
  const at = [];
  for (let i = 0; i < rows.length; i++) if (i >= before.length || !sameRow(before[i], rows[i])) at.push(i);
  return at;
}

// A table read again: its fingerprint, the last one when its cells are the same. When it changed, `t.before` lists
// the versions read before under the same headers (newest first): `deltaOf(t, fingerprint)` gives the rows that
// changed since one of them (a cell function sends those rows only, as a patch of the version the service holds).
async function fingerprintOf(t) {
  const versions = lastRead.get(t.key) || [];
  const same = versions.filter((v) => v.header_row === t.header_row && sameRow(v.headers, t.headers));
  if (same.length && sameRows(same[0].rows, t.rows) && same[0] === versions[0]) return same[0].fingerprint;
  const fp = await fingerprint(t.header_row, t.headers, t.rows);
  const before = same.filter((v) => v.fingerprint !== fp);
  if (before.length) Object.defineProperty(t, "before", { value: before, enumerable: false });
  const kept = versions.filter((v) => v.fingerprint !== fp).slice(0, VERSIONS_KEPT - 1);
  lastRead.set(t.key, [{ header_row: t.header_row, headers: t.headers.slice(), rows: t.rows.map((r) => r.slice()),
    fingerprint: fp }, ...kept]);
  return fp;
}

// The change of table `t` since its version `base` read before: {base, at: the indexes of the rows that differ}, or
// undefined (no such version, or too many rows changed for a patch to be worth it). Computed once per version.
export function deltaOf(t, base) {
  const v = (t.before || []).find((x) => x.fingerprint === base);
  if (!v) return undefined;
  const memo = t.deltas || (t.deltas = new Map());
  if (!memo.has(base)) {
    const at = changedRows(v.rows, t.rows);
    memo.set(base, at.length <= Math.max(16, t.rows.length / 4) ? { base, at } : undefined);
  }
  return memo.get(base);
}

// Queue the loads of the ledger's tables on `context` (one sync reads them all).
function queueTables(context, keys) {
  const out = [];
  for (const key of keys) {
    const table = context.workbook.tables.getItemOrNullObject(key);
    table.load("isNullObject");
    const range = table.getRange();
    range.load("values,address");
    const sheet = table.worksheet;
    sheet.load("name");
    out.push({ key, table, range, sheet });
  }
  return out;
}

function tableOf(q) {
  const values = q.range.values;
  const at = parseAddress(q.range.address);
  return { key: q.key, title: q.sheet.name, header_row: at.row + 1, headers: values[0], rows: values.slice(1),
    _col: at.col };
}

// The tables of the workbook, as the protocol's Table objects (plus `_col`, the table's first column, 0-based),
// with the host's fingerprint of each. A table the workbook lacks is left out (the service says if it needs it).
export async function readTables(context, keys = LEDGER_TABLES) {
  const queued = queueTables(context, keys);
  await context.sync();
  const tables = [];
  for (const q of queued) {
    if (q.table.isNullObject) continue;
    const t = tableOf(q);
    t.fingerprint = await fingerprintOf(t);
    tables.push(t);
  }
  return tables;
}

// The JSON body for the service: the tables without the host-only fields.
export function tablesBody(tables, extra = {}) {
  return { tables: tables.map(({ key, title, header_row, headers, rows, fingerprint: fp }) =>
    ({ key, title, header_row, headers, rows, fingerprint: fp })), ...extra };
}

function cellValue(v) {
  return v === null || v === undefined ? "" : v; // null = an empty cell in the protocol; "" clears it in Excel
}

// Apply `writes` (TableWrites) in one Excel.run batch: re-read the tables they were computed from, refuse
// everything if one changed (fingerprint) or a `set` row no longer holds its key (someone sorted), then queue
// every edit and sync once. Returns {cells, rows} counts. Nothing is written when it throws.
export async function applyWrites(context, writes) {
  const names = Object.keys(writes.tables || {});
  const edits = writes.edits || [];
  if (!edits.length) return { cells: 0, rows: 0 };
  const existing = names.filter((k) => !writes.tables[k].new);
  const queued = queueTables(context, existing);
  await context.sync();
  const now = {};
  for (const q of queued) {
    if (q.table.isNullObject) throw new WorkbookWriteError(`the table ${q.key} is no longer in the workbook; nothing was written`, { table: q.key });
    const t = tableOf(q);
    const spec = writes.tables[q.key];
    if (spec.fingerprint && spec.fingerprint !== await fingerprint(t.header_row, t.headers, t.rows)) {
      throw new WorkbookWriteError(`${t.title} changed in the workbook since cobro read it; nothing was written. Run it again.`,
        { table: q.key });
    }
    now[q.key] = { ...t, table: q.table, sheetObj: q.table.worksheet };
  }
  // Guards before any write: every `set` row still holds the key it was read with.
  for (const e of edits) {
    if (e.op !== "set" || !e.match) continue;
    const t = now[e.table];
    const [col, want] = Object.entries(e.match)[0];
    const idx = writes.tables[e.table].columns[col].index;
    const have = t.rows[e.index] ? t.rows[e.index][idx] : undefined;
    if (String(have) !== String(want)) {
      throw new WorkbookWriteError(`${t.title} row ${e.row}: expected ${want} in that row, found ${have ?? "nothing"} ` +
        "(the table was sorted or edited); nothing was written. Run it again.", { table: e.table, row: e.row });
    }
  }
  // New tables and new columns first: the edits address columns by their index after them.
  for (const key of names) {
    const spec = writes.tables[key];
    const cols = Object.entries(spec.columns).sort((a, b) => a[1].index - b[1].index);
    if (spec.new) {
      const sheet = context.workbook.worksheets.add(spec.title);
      const headers = cols.map(([, c]) => c.header);
      sheet.getRangeByIndexes(0, 0, 1, headers.length).values = [headers];
      const table = context.workbook.tables.add(sheet.getRangeByIndexes(0, 0, 2, headers.length), true);
      table.name = key;
      now[key] = { key, title: spec.title, header_row: 1, headers, rows: [new Array(headers.length).fill("")],
        _col: 0, table, sheetObj: sheet };
      continue;
    }
    for (const [, c] of cols) {
      if (!c.new) continue;
      now[key].table.columns.add(c.index, null, c.header);
      now[key].headers.splice(c.index, 0, c.header);
    }
  }
  let cells = 0;
  let rows = 0;
  const cellAt = (t, sheetRow, index) => t.sheetObj.getRangeByIndexes(sheetRow - 1, t._col + index, 1, 1);
  for (const e of edits) {
    const t = now[e.table];
    const spec = writes.tables[e.table];
    if (e.op === "set") {
      for (const [k, v] of Object.entries(e.cells)) {
        const c = spec.columns[k];
        const r = cellAt(t, e.row, c.index);
        r.values = [[cellValue(v)]];
        if (c.format) r.numberFormat = [[c.format]];
        cells += 1;
      }
    } else if (e.op === "append" || e.op === "replace") {
      const width = t.headers.length;
      const lastRow = t.header_row + t.rows.length; // the table's last sheet row
      if (e.op === "replace" && e.clear) {
        for (const [, c] of Object.entries(spec.columns)) {
          t.sheetObj.getRangeByIndexes(t.header_row, t._col + c.index, e.clear, 1).values =
            Array.from({ length: e.clear }, () => [""]);
        }
      }
      const inside = Math.max(0, Math.min(e.rows.length, lastRow - e.row + 1));
      const full = (obj) => {
        const out = new Array(width).fill(null); // null: Excel leaves that cell (and its formula) alone
        for (const [k, v] of Object.entries(obj)) out[spec.columns[k].index] = cellValue(v);
        return out;
      };
      if (inside > 0) {
        t.sheetObj.getRangeByIndexes(e.row - 1, t._col, inside, width).values = e.rows.slice(0, inside).map(full);
      }
      if (e.rows.length > inside) t.table.rows.add(null, e.rows.slice(inside).map(full));
      for (const [, c] of Object.entries(spec.columns)) {
        if (c.format && e.rows.length) {
          t.sheetObj.getRangeByIndexes(e.row - 1, t._col + c.index, e.rows.length, 1).numberFormat =
            Array.from({ length: e.rows.length }, () => [c.format]);
        }
      }
      rows += e.rows.length;
    }
  }
  await context.sync();
  return { cells, rows };
}
