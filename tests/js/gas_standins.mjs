// Small stand-ins of the Apps Script services Code.gs uses, for Node's test runner. UrlFetchApp makes REAL HTTP
// calls (synchronously, as Apps Script does) through a child Node process, so the script talks to the real cobro
// service on loopback. Everything the script shows a person is recorded for the tests to read.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CODE_GS = path.resolve(here, '../../addin/gsheets/Code.gs');

const FETCH_CHILD = `
const [url, opts] = JSON.parse(process.argv[1]);
fetch(url, opts).then(async (r) => {
  process.stdout.write(JSON.stringify({ status: r.status, text: await r.text() }));
}).catch((e) => { process.stdout.write(JSON.stringify({ error: String(e && e.message || e) })); });
`;

function syncFetch(url, options = {}) {
  const opts = { method: (options.method || 'get').toUpperCase(), headers: { ...(options.headers || {}) } };
  if (options.payload !== undefined) {
    opts.body = options.payload;
    opts.headers['Content-Type'] = options.contentType || 'application/x-www-form-urlencoded';
  }
  const out = JSON.parse(execFileSync(process.execPath, ['-e', FETCH_CHILD, JSON.stringify([url, opts])],
    { encoding: 'utf8', timeout: 120000 }));
  if (out.error) throw new Error(`Exception: Address unavailable: ${url} (${out.error})`);
  if (out.status >= 400 && !options.muteHttpExceptions) {
    throw new Error(`Exception: Request failed for ${url} returned code ${out.status}`);
  }
  return { getResponseCode: () => out.status, getContentText: () => out.text };
}

class Menu {
  constructor(ui, title) { this.ui = ui; this.title = title; this.items = []; }
  addItem(caption, fn) { this.items.push({ caption, fn }); return this; }
  addSeparator() { this.items.push({ separator: true }); return this; }
  addSubMenu(menu) { this.items.push({ submenu: menu }); return this; }
  addToUi() { this.ui.menus.push(this); }
}

export function makeContext({ locale = 'es_ES', props = {}, answers = [], prompts = [] } = {}) {
  const ui = {
    menus: [], alerts: [], dialogs: [], sidebars: [], answers: [...answers], prompts: [...prompts],
    Button: { OK: 'OK', CANCEL: 'CANCEL', YES: 'YES', NO: 'NO', CLOSE: 'CLOSE' },
    ButtonSet: { OK: 'OK', OK_CANCEL: 'OK_CANCEL', YES_NO: 'YES_NO', YES_NO_CANCEL: 'YES_NO_CANCEL' },
    createMenu(title) { return new Menu(ui, title); },
    alert(...args) {
      const [title, message, buttons] = args.length === 1 ? [null, args[0], 'OK'] : args;
      ui.alerts.push({ title, message, buttons });
      return buttons === 'YES_NO' ? (ui.answers.shift() || 'NO') : 'OK';
    },
    prompt(title, message) {
      const [button, text] = ui.prompts.shift() || ['CANCEL', ''];
      return { getSelectedButton: () => button, getResponseText: () => text };
    },
    showModalDialog(html, title) { ui.dialogs.push({ title, html: html.content }); },
    showSidebar(html) { ui.sidebars.push({ html: html.content, title: html.title }); },
  };
  const store = { ...props };
  const properties = {
    getProperty: (k) => (k in store ? store[k] : null),
    setProperty: (k, v) => { store[k] = String(v); return properties; },
    getProperties: () => ({ ...store }),
  };
  class HtmlOutput {
    constructor(content) { this.content = content; this.title = ''; }
    setTitle(t) { this.title = t; return this; }
    setWidth() { return this; }
    setHeight() { return this; }
  }
  const context = {
    SpreadsheetApp: { getUi: () => ui, getActive: () => ({ getSpreadsheetLocale: () => locale, getId: () => 'fake' }) },
    PropertiesService: { getDocumentProperties: () => properties, getUserProperties: () => properties,
      getScriptProperties: () => properties },
    HtmlService: { createHtmlOutput: (c) => new HtmlOutput(c) },
    UrlFetchApp: { fetch: syncFetch },
    Utilities: { formatDate: (d) => d.toISOString().slice(0, 10) },
    Session: { getScriptTimeZone: () => 'UTC' },
    console,
  };
  vm.createContext(context);
  vm.runInContext(readFileSync(CODE_GS, 'utf8'), context, { filename: 'Code.gs' });
  return { context, ui, props: store };
}

// Values made inside the vm are another realm: compare after a JSON round trip.
export const plain = (v) => JSON.parse(JSON.stringify(v));
