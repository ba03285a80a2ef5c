// The cobro service as the add-in's pages call it: same origin (the service serves the add-in's files), the
// ledger's API token kept in the browser's storage under the key the page uses ("cobro.token").

export const TOKEN_KEY = "cobro.token";

export class ServiceError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.name = "ServiceError";
    this.status = status; // 0: the service could not be reached
    this.body = body || {};
  }
}

export function storedToken(storage = globalThis.localStorage) {
  try { return (storage && storage.getItem(TOKEN_KEY)) || ""; } catch (e) { return ""; }
}

// POST `body` as JSON to `path` of the service at `base`; the answer's JSON, or a ServiceError.
export async function post(path, body, { base = "", token = storedToken(), fetchImpl = globalThis.fetch } = {}) {
  let resp;
  try {
    resp = await fetchImpl(base + path, {
      method: "POST", cache: "no-store", credentials: "omit",
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ServiceError(0, { error: `the cobro service could not be reached (${e && e.message ? e.message : e})` });
  }
  let data;
  try { data = await resp.json(); } catch (e) { data = { error: `HTTP ${resp.status}` }; }
  if (!resp.ok) throw new ServiceError(resp.status, data);
  return data;
}

// Sum decimal strings ("1250.10", "-3.5") exactly, with BigInt: never a float for money.
export function sumDecimals(values) {
  let scale = 0;
  for (const v of values) scale = Math.max(scale, (String(v).split(".")[1] || "").length);
  let total = 0n;
  for (const v of values) {
    const text = String(v).trim();
    const neg = text.startsWith("-");
    const [int, frac = ""] = text.replace(/^[-+]/, "").split(".");
    const n = BigInt((int || "0") + frac.padEnd(scale, "0"));
    total += neg ? -n : n;
  }
  const neg = total < 0n;
  let digits = (neg ? -total : total).toString().padStart(scale + 1, "0");
  if (scale) digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return (neg ? "-" : "") + digits;
}

// {count, emails, totals: {EUR: "1234.50"}} of a plan (the JSON of /api/tables/reminders/preview).
export function planSummary(plan) {
  const items = (plan && plan.items) || [];
  const per = {};
  for (const it of items) {
    for (const [cur, amount] of Object.entries(it.totals || {})) (per[cur] = per[cur] || []).push(amount);
  }
  const totals = {};
  for (const cur of Object.keys(per).sort()) totals[cur] = sumDecimals(per[cur]);
  const channels = {};
  for (const it of items) channels[it.channel] = (channels[it.channel] || 0) + 1;
  return { count: items.length, emails: channels.email || 0, channels, totals };
}

export function totalsText(totals, locale = "en") {
  const parts = Object.entries(totals || {}).map(([cur, amount]) => {
    const [int, frac] = String(amount).split(".");
    const sep = locale === "es" ? [".", ","] : [",", "."];
    const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, sep[0]);
    return `${grouped}${frac ? sep[1] + frac : ""} ${cur}`;
  });
  return parts.join(" + ") || "0";
}
