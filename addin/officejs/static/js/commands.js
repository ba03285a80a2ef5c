// The Cobro tab's ExecuteFunction actions (manifest.xml: sendReminders, previewReminders). Each reads the
// ledger's tables through the Excel API, asks the service, and — for Send — asks the person to confirm the count
// and the total, sends (exactly once: the service's journal), then applies the Contacts rows and the derived
// invoice columns it answers inside one Excel.run. Errors are shown in a dialog; the workbook stays open.
import { applyWrites, readTables, tablesBody } from "./excel_tables.js";
import { planSummary, post, ServiceError, storedToken, totalsText } from "./service.js";
import { pickLocale, tr } from "./strings.js";

// Show `message` in an Office dialog (dialog.html) with `buttons`; resolves with the button pressed.
export function ask(ui, message, buttons, { base = "" } = {}) {
  const q = new URLSearchParams({ m: message, b: buttons.map((b) => `${b.id}:${b.label}`).join("|") });
  const url = `${base || location.origin}/addin/dialog.html?${q}`;
  return new Promise((resolve) => {
    ui.displayDialogAsync(url, { height: 30, width: 30, displayInIframe: true }, (res) => {
      if (res.status !== "succeeded") { resolve("cancel"); return; }
      const dialog = res.value;
      dialog.addEventHandler("dialogMessageReceived", (arg) => { dialog.close(); resolve(arg.message); });
      dialog.addEventHandler("dialogEventReceived", () => resolve("cancel")); // closed with its X
    });
  });
}

export function errorMessage(err, locale) {
  if (err instanceof ServiceError && err.body && Array.isArray(err.body.problems) && err.body.problems.length) {
    // Each problem's message already names the sheet, row and column in the ledger's language.
    const lines = err.body.problems.slice(0, 5).map((p) => p.message || tr(locale, "problem", {
      sheet: p.sheet || p.template || "", row: p.row ?? p.line ?? "", column: p.column || "", message: "" }));
    const more = err.body.problems.length - lines.length;
    return [err.message, ...lines, ...(more > 0 ? [`(+${more})`] : [])].join("\n");
  }
  return tr(locale, "error", { message: err && err.message ? err.message : String(err) });
}

// The whole Send flow with its dependencies given (Excel, Office.context.ui, the service's base URL, as_of):
// returns {state: "sent"|"cancelled"|"nothing"|"failed", ...}. Used by the ribbon and by the tests.
export async function sendReminders({ Excel, ui, base = "", token = storedToken(), asOf, displayLanguage = "en",
  fetchImpl = globalThis.fetch } = {}) {
  let locale = pickLocale(displayLanguage);
  const opts = { base, token, fetchImpl };
  const extra = asOf ? { as_of: asOf } : {};
  try {
    if (!token) throw new Error(tr(locale, "no_token"));
    const tables = await Excel.run((ctx) => readTables(ctx));
    const preview = await post("/api/tables/reminders/preview", tablesBody(tables, extra), opts);
    locale = pickLocale(preview.locale, tables.find((t) => t.key === "Invoices")?.title === "Facturas" ? "es" : "",
      displayLanguage);
    const s = planSummary(preview.plan);
    if (!s.count) {
      await ask(ui, tr(locale, "nothing"), [{ id: "ok", label: tr(locale, "ok") }], { base });
      return { state: "nothing", summary: s };
    }
    const answer = await ask(ui, tr(locale, "confirm", { count: s.count, emails: s.emails,
      total: totalsText(s.totals, locale) }), [{ id: "send", label: tr(locale, "send") },
      { id: "cancel", label: tr(locale, "cancel") }], { base });
    if (answer !== "send") return { state: "cancelled", summary: s };
    const result = await post("/api/tables/reminders/send", tablesBody(tables, { ...extra, expect_count: s.count }), opts);
    let applied;
    try {
      applied = await Excel.run((ctx) => applyWrites(ctx, result.writes));
    } catch (e) {
      await ask(ui, tr(locale, "not_applied", { message: e.message }), [{ id: "ok", label: tr(locale, "ok") }], { base });
      return { state: "failed", error: e.message, result };
    }
    const results = (result.send && result.send.results) || [];
    const count = (st) => results.filter((r) => r.status === st).length;
    const contacts = tables.find((t) => t.key === "Contacts");
    await ask(ui, tr(locale, "sent", { sent: count("sent"), failed: count("failed"), logged: result.logged_contacts,
      sheet: contacts ? contacts.title : "Contacts" }), [{ id: "ok", label: tr(locale, "ok") }], { base });
    return { state: "sent", summary: s, result, applied };
  } catch (err) {
    const message = errorMessage(err, locale);
    await ask(ui, message, [{ id: "ok", label: tr(locale, "ok") }], { base });
    return { state: "failed", error: message };
  }
}

// Preview: what Send would do today, nothing sent or written.
export async function previewReminders({ Excel, ui, base = "", token = storedToken(), asOf, displayLanguage = "en",
  fetchImpl = globalThis.fetch } = {}) {
  let locale = pickLocale(displayLanguage);
  try {
    if (!token) throw new Error(tr(locale, "no_token"));
    const tables = await Excel.run((ctx) => readTables(ctx));
    const preview = await post("/api/tables/reminders/preview", tablesBody(tables, asOf ? { as_of: asOf } : {}),
      { base, token, fetchImpl });
    locale = pickLocale(preview.locale, displayLanguage);
    const s = planSummary(preview.plan);
    const text = s.count ? tr(locale, "preview", { count: s.count, emails: s.emails, total: totalsText(s.totals, locale) })
      : tr(locale, "nothing");
    await ask(ui, text, [{ id: "ok", label: tr(locale, "ok") }], { base });
    return { state: "previewed", summary: s, preview };
  } catch (err) {
    const message = errorMessage(err, locale);
    await ask(ui, message, [{ id: "ok", label: tr(locale, "ok") }], { base });
    return { state: "failed", error: message };
  }
}

// Wire the actions when loaded by runtime.html inside Office.
export function registerCommands(Office, Excel) {
  const env = () => ({ Excel, ui: Office.context.ui, displayLanguage: Office.context.displayLanguage });
  const action = (fn) => async (event) => {
    try { await fn(env()); } finally { event.completed(); }
  };
  Office.actions.associate("sendReminders", action(sendReminders));
  Office.actions.associate("previewReminders", action(previewReminders));
}
