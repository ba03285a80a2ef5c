// The cobro page: Today (worklist), Aging and KPIs, Reconcile, Send reminders, Forecast — over one data source.
import { DataSourceError, makeDataSource } from "./datasource.js";
import { $, clear, decimalSub, decimalSum, el, show } from "./dom.js";
import { formatAmount, formatDate, locale, setLocale, t, totalsText } from "./i18n.js";

const PAGE = 100;
const ds = makeDataSource();
// ?view=reconcile (the Sheets menu's "Reconcile bank", the add-in's button) opens that tab first; ?view=forecast the
// Forecast.
const VIEWS = ["today", "aging", "reconcile", "send", "forecast"];
const wanted = new URLSearchParams(location.search).get("view");
const state = { overview: null, worklistShown: PAGE, customersShown: PAGE, charts: [], preview: null, polling: null,
  forecast: null, forecastCharts: [], forecastLoads: 0, tab: VIEWS.includes(wanted) ? wanted : "today" };

// ------------------------------------------------------------------------------------------ start, errors

function start() {
  setLocale(locale());
  wireTabs();
  wireDialogs();
  wireReconcile();
  wireSend();
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    ds.setToken($("token-input").value);
    $("token-input").value = "";
    load();
  });
  $("signout").addEventListener("click", () => { ds.setToken(""); signIn(""); });
  $("problems-retry").addEventListener("click", () => load());
  $("worklist-more").addEventListener("click", () => { state.worklistShown += PAGE; renderWorklist(); });
  $("customers-more").addEventListener("click", () => { state.customersShown += PAGE; renderCustomers(); });
  $("invoices-close").addEventListener("click", () => show($("invoices"), false));
  if (!ds.hasToken()) signIn("");
  else load();
}

function signIn(message) {
  for (const id of ["tabs", ...TABS, "problems", "notice"]) show($(id), false);
  show($("signout"), false);
  show($("signin"));
  const err = $("signin-error");
  err.textContent = message;
  show(err, Boolean(message));
  $("token-input").focus();
}

function notice(text) {
  const n = $("notice");
  n.textContent = text;
  show(n, Boolean(text));
}

// Problems of a workbook or a template, as lines a person reads (never raw JSON).
function problemLines(body) {
  return (body.problems || []).map((p) => {
    if (p.template && !p.message) {
      return t("template_error", { template: p.template, language: p.language || "", part: p.part || "",
        line: p.line ?? "", message: p.message || "" });
    }
    return p.message || "";
  }).filter(Boolean);
}

function errorText(err) {
  if (!(err instanceof DataSourceError)) return t("error_generic", { message: String(err && err.message) });
  if (err.status === 0) return t("offline");
  if (err.status === 409 && /run is already in progress/.test(err.message)) return t("already_running");
  const lines = problemLines(err.body);
  const broken = (err.body.problems || []).some((p) => p.template) || /^nothing was sent/.test(err.body.error || "");
  const head = broken ? t("plan_broken") : err.body.error || err.message;
  if (lines.length && !(lines.length === 1 && lines[0] === head)) return [head, ...lines.map((l) => `• ${l}`)].join("\n");
  return head;
}

function showError(box, err) {
  if (err instanceof DataSourceError && err.status === 401) { signIn(t("bad_token")); return; }
  box.textContent = errorText(err);
  show(box);
}

function showProblems(err) {
  if (err.body.locale) setLocale(err.body.locale);
  for (const id of ["tabs", ...TABS, "signin"]) show($(id), false);
  $("problems-lead").textContent = err.body.error || err.message;
  const body = clear($("problems-table").tBodies[0]);
  for (const p of err.body.problems || []) {
    body.append(el("tr", {},
      el("td", { text: p.sheet_title || p.sheet || p.source || p.template || "" }),
      el("td", { text: p.row ?? p.line ?? "" }),
      el("td", { text: p.column_header || p.column || p.part || "" }),
      el("td", { text: p.message || "" })));
  }
  show($("problems"));
}

// ------------------------------------------------------------------------------------------ loading

async function load() {
  notice("");
  let ov;
  try {
    ov = await ds.overview();
  } catch (err) {
    if (err instanceof DataSourceError && err.status === 401) return signIn(t("bad_token"));
    if (err instanceof DataSourceError && err.status === 422 && err.body.problems) return showProblems(err);
    show($("signin"), false);
    notice(errorText(err));
    return;
  }
  state.overview = ov;
  setLocale(ov.locale);
  document.title = ov.company ? `cobro — ${ov.company}` : "cobro";
  $("company").textContent = ov.company || "";
  $("meta").textContent = `${t("ledger", { name: ov.ledger })} · ${t("as_of", { date: formatDate(ov.as_of) })}`;
  for (const id of ["signin", "problems"]) show($(id), false);
  show($("tabs"));
  show($("signout"));
  renderWorklist();
  if (!performance.getEntriesByName("cobro:worklist").length) performance.mark("cobro:worklist"); // for bench_page
  renderAging();
  state.forecast = null; // the ledger may have changed: the Forecast is asked for again when shown
  selectTab(state.tab);
}

// ------------------------------------------------------------------------------------------ tabs

const TABS = VIEWS;

function wireTabs() {
  for (const name of TABS) $(`tab-${name}`).addEventListener("click", () => selectTab(name));
  $("tabs").addEventListener("keydown", (e) => {
    const i = TABS.indexOf(state.tab);
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      const next = TABS[(i + (e.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length];
      selectTab(next);
      $(`tab-${next}`).focus();
    }
  });
}

function selectTab(name) {
  state.tab = name;
  for (const n of TABS) {
    const tab = $(`tab-${n}`);
    tab.setAttribute("aria-selected", String(n === name));
    tab.tabIndex = n === name ? 0 : -1;
    show($(n), n === name);
  }
  if (name === "aging") drawCharts();
  if (name === "send" && !state.preview) preview();
  if (name === "reconcile") loadMatches();
  if (name === "forecast") {
    if (!state.forecast) loadForecast();
    else drawForecastCharts();
  }
}

// ------------------------------------------------------------------------------------------ today

function amountsText(map) {
  return Object.entries(map || {}).map(([cur, v]) => formatAmount(v, cur)).join("; ");
}

function renderWorklist() {
  const wl = state.overview.worklist;
  $("today-note").textContent = wl.rows.length ? "" : t("nothing_today");
  const body = clear($("worklist").tBodies[0]);
  for (const r of wl.rows.slice(0, state.worklistShown)) {
    const when = r.next_action_date === state.overview.as_of ? t("today") : formatDate(r.next_action_date);
    const paused = r.status === "paused";
    body.append(el("tr", { class: r.held ? "held" : "", dataset: { customer: r.customer_id } },
      el("td", { class: "num", text: r.rank }),
      el("td", {}, el("div", { class: "cust-name", text: r.name }), el("div", { class: "cust-id", text: r.customer_id })),
      el("td", { text: r.reason }),
      el("td", { text: r.next_action }),
      el("td", { text: when }),
      el("td", { class: "num", text: amountsText(r.overdue) }),
      el("td", {}, el("div", { class: "actions" },
        actionButton("call", r), actionButton("promise", r), actionButton("dispute", r),
        actionButton(paused ? "resume" : "pause", r)))));
  }
  show($("worklist-more"), wl.rows.length > state.worklistShown);
}

function actionButton(kind, row) {
  return el("button", { type: "button", class: "small", text: t(`act_${kind}`),
    "aria-label": `${t(`act_${kind}`)}: ${row.name}`, onclick: () => openAction(kind, row) });
}

function field(label, input) {
  const id = `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return [el("label", { for: id, text: label }), input];
}

let currentAction = null;

function openAction(kind, row) {
  currentAction = { kind, row };
  $("action-h").textContent = t(`dlg_${kind}`);
  $("action-customer").textContent = `${row.name} (${row.customer_id})`;
  const box = clear($("action-fields"));
  const err = $("action-error");
  show(err, false);
  const currency = Object.keys(row.overdue || {})[0] || Object.keys(row.outstanding || {})[0] || "";
  if (kind === "call") {
    const sel = el("select", { name: "outcome" },
      el("option", { value: "reached", text: t("o_reached") }), el("option", { value: "no_answer", text: t("o_no_answer") }),
      el("option", { value: "note", text: t("o_note") }));
    box.append(...field(t("f_outcome"), sel));
  }
  if (kind === "promise") {
    const d = new Date(`${state.overview.as_of}T12:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 7);
    box.append(...field(t("f_promise_date"), el("input", { name: "promise_date", type: "date", required: true,
      value: d.toISOString().slice(0, 10) })));
    box.append(...field(t("f_promise_amount", { cur: currency }), el("input", { name: "promise_amount",
      inputmode: "decimal", value: (row.overdue || {})[currency] || "", dataset: { currency } })));
  }
  if (kind === "dispute") box.append(...field(t("f_invoices"), el("input", { name: "invoice_ids" })));
  if (kind === "pause" || kind === "resume") box.append(el("p", { class: "muted", text: t("pause_help") }));
  box.append(...field(t("f_notes"), el("textarea", { name: "notes", rows: 3 })));
  $("action-dialog").showModal();
}

async function saveAction(e) {
  e.preventDefault();
  const { kind, row } = currentAction;
  const form = $("action-form");
  const value = (name) => (form.elements[name] ? form.elements[name].value.trim() : "");
  const save = $("action-save");
  save.disabled = true;
  try {
    if (kind === "pause" || kind === "resume") {
      await ds.setPaused(row.customer_id, kind === "pause", value("notes"));
    } else {
      const body = { customer_id: row.customer_id, channel: "phone", notes: value("notes") };
      if (kind === "call") body.outcome = value("outcome");
      if (kind === "promise") {
        body.outcome = "promise";
        body.promise_date = value("promise_date");
        const amount = value("promise_amount");
        if (amount) body.promise_amount = amount;
      }
      if (kind === "dispute") {
        body.outcome = "dispute";
        const ids = value("invoice_ids").split(/[,;\s]+/).filter(Boolean);
        if (ids.length) body.invoice_ids = ids;
      }
      await ds.logContact(body);
    }
    $("action-dialog").close();
    await load();
    notice(t("saved", { sheet: locale() === "es" ? "Gestiones" : "Contacts", customer: row.name }));
  } catch (err) {
    showError($("action-error"), err);
  } finally {
    save.disabled = false;
  }
}

function wireDialogs() {
  $("action-form").addEventListener("submit", saveAction);
  $("action-cancel").addEventListener("click", () => $("action-dialog").close());
  $("confirm-cancel").addEventListener("click", () => $("confirm-dialog").close("cancel"));
}

// ------------------------------------------------------------------------------------------ aging and KPIs

const COLORS = ["#2e7d32", "#9e9d24", "#f9a825", "#ef6c00", "#c62828", "#6a1b9a", "#37474f"];
const CUSTOMER_COLORS = ["#1f5fa8", "#5d8fca", "#2e7d6e", "#7aa95c", "#b08b2e", "#8d6e63"];

function bucketLabel(label) { return label === "not_due" ? t("not_due") : t("days", { label }); }

function renderAging() {
  const ag = state.overview.aging;
  const table = $("aging-totals");
  const [header, ...rows] = ag.totals_table;
  clear(table.tHead).append(el("tr", {}, header.map((k, i) => el("th", { scope: "col", class: i ? "num" : "",
    text: colName(k, ag.buckets) }))));
  const body = clear(table.tBodies[0]);
  for (const r of rows) {
    const cur = r[0];
    body.append(el("tr", {}, r.map((v, i) => {
      if (i === 0) return el("th", { scope: "row", text: v });
      const key = header[i];
      const bucket = key === "not_due" ? "not_due" : ag.buckets.includes(key) ? key : null;
      if (bucket) {
        return el("td", { class: "num" }, el("button", { type: "button", class: "clickable", text: formatAmount(v),
          "aria-label": `${bucketLabel(bucket)} ${formatAmount(v, cur)}`,
          onclick: () => showInvoices({ bucket, currency: cur }) }));
      }
      return el("td", { class: "num", text: formatAmount(v) });
    })));
  }
  renderKpis();
  state.customersShown = PAGE;
  renderCustomers();
  if (state.tab === "aging") drawCharts();
}

function colName(key, buckets) {
  if (key === "currency") return t("col_currency");
  if (key === "not_due") return t("not_due");
  if (buckets.includes(key)) return t("days", { label: key });
  return { total_due: t("total_due"), outstanding: t("outstanding"), advance: t("kind_advance"),
    credit_notes: t("kind_credit_note") }[key] || key;
}

function drawCharts() {
  const ov = state.overview;
  if (!ov || typeof window.Chart === "undefined") return;
  for (const c of state.charts) c.destroy();
  state.charts = [];
  const box = clear($("charts"));
  const ag = ov.aging;
  const labels = ["not_due", ...ag.buckets];
  for (const [cur, totals] of Object.entries(ag.totals)) {
    const values = [totals.not_due, ...totals.buckets];
    // Stacked bars per bucket: the five customers owing most in this currency, and everyone else (exact sums).
    const custs = ag.customers.filter((c) => c.currency === cur)
      .sort((a, b) => Number(b.total_due) + Number(b.not_due) - Number(a.total_due) - Number(a.not_due)).slice(0, 5);
    const datasets = custs.map((c, i) => ({ label: c.name || c.customer_id, customer: c.customer_id,
      backgroundColor: CUSTOMER_COLORS[i], data: [c.not_due, ...c.buckets].map(Number) }));
    const rest = values.map((v, j) => decimalSub(v, decimalSum(custs.map((c) => [c.not_due, ...c.buckets][j]))));
    datasets.push({ label: locale() === "es" ? "resto" : "others", customer: null, backgroundColor: "#9aa5b4",
      data: rest.map(Number) });
    const parts = labels.map((l, j) => `${bucketLabel(l)} ${formatAmount(values[j], cur)}`).join(", ");
    const canvas = el("canvas", { role: "img", "aria-label": t("chart_label", { cur, parts }) });
    box.append(el("div", { class: "chart" }, el("h3", { text: `${t("aging_title")} — ${cur}` }),
      el("div", { class: "canvas-box" }, canvas)));
    const chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels.map(bucketLabel), datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: (v) => formatAmount(String(v)) } } },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (ctx) => {
            const d = ctx.dataset;
            const exact = d.customer === null ? rest[ctx.dataIndex]
              : [custs[ctx.datasetIndex].not_due, ...custs[ctx.datasetIndex].buckets][ctx.dataIndex];
            return `${d.label}: ${formatAmount(exact, cur)}`;
          } } },
        },
        onClick: (evt, elements) => {
          if (!elements.length) return;
          const { datasetIndex, index } = elements[0];
          const d = datasets[datasetIndex];
          showInvoices({ bucket: labels[index], currency: cur, customerId: d.customer || undefined });
        },
      },
    });
    state.charts.push(chart);
  }
}

const KPI_KEYS = ["dso", "countback_dso", "best_dso", "add", "cei"];

function renderKpis() {
  const k = state.overview.kpis;
  $("kpi-period").textContent = t("kpi_period", { start: formatDate(k.period.start), end: formatDate(k.period.end),
    days: k.period.days });
  const box = clear($("kpis"));
  for (const [cur, v] of Object.entries(k.currencies)) {
    for (const key of KPI_KEYS) {
      const raw = v[key];
      const value = raw === null || raw === undefined ? t("na")
        : key === "cei" ? t("percent", { v: formatAmount(raw) }) : t("days_unit", { v: formatAmount(raw) });
      box.append(el("div", { class: "kpi", dataset: { kpi: key, currency: cur } },
        el("div", { class: "kpi-name", text: `${t(`kpi_${key}`)} · ${cur}` }),
        el("div", { class: "kpi-value", text: value }),
        el("p", { class: "kpi-help", text: t(`help_${key}`) })));
    }
  }
}

function renderCustomers() {
  const ag = state.overview.aging;
  const table = $("aging-customers");
  clear(table.tHead).append(el("tr", {}, el("th", { scope: "col", text: t("col_customer") }),
    el("th", { scope: "col", text: t("col_currency") }), el("th", { scope: "col", class: "num", text: t("not_due") }),
    ag.buckets.map((b) => el("th", { scope: "col", class: "num", text: bucketLabel(b) })),
    el("th", { scope: "col", class: "num", text: t("total_due") })));
  const rows = [...ag.customers].sort((a, b) => Number(b.total_due) - Number(a.total_due));
  const body = clear(table.tBodies[0]);
  for (const c of rows.slice(0, state.customersShown)) {
    body.append(el("tr", {},
      el("th", { scope: "row" }, el("button", { type: "button", class: "clickable", text: c.name || c.customer_id,
        onclick: () => showInvoices({ customerId: c.customer_id, name: c.name }) })),
      el("td", { text: c.currency }), el("td", { class: "num", text: formatAmount(c.not_due) }),
      c.buckets.map((v) => el("td", { class: "num", text: formatAmount(v) })),
      el("td", { class: "num", text: formatAmount(c.total_due) })));
  }
  show($("customers-more"), rows.length > state.customersShown);
}

async function showInvoices({ customerId, bucket, currency, name }) {
  const panel = $("invoices");
  const h = $("invoices-h");
  const who = name || customerId;
  h.textContent = customerId && !bucket ? t("invoices_of", { who })
    : t("invoices_bucket", { bucket: bucketLabel(bucket), cur: currency || "" }) + (customerId ? ` — ${who}` : "");
  const table = $("invoices-table");
  clear(table.tBodies[0]);
  show(panel);
  let data;
  try {
    data = await ds.invoices({ customerId, bucket, currency });
  } catch (err) {
    table.tBodies[0].append(el("tr", {}, el("td", { class: "error", text: errorText(err) })));
    return;
  }
  clear(table.tHead).append(el("tr", {}, ["col_kind", "col_invoice", "col_customer", "col_issue", "col_due",
    "col_age", "col_bucket", "col_amount", "col_balance"].map((k, i) => el("th", { scope: "col",
    class: i >= 7 ? "num" : "", text: t(k) }))));
  const body = table.tBodies[0];
  if (!data.rows.length) body.append(el("tr", {}, el("td", { colspan: 9, class: "muted", text: t("no_items") })));
  for (const r of data.rows) {
    body.append(el("tr", {},
      el("td", { text: t(`kind_${r.kind}`) }), el("td", { text: r.invoice_id || r.payment_id || "" }),
      el("td", { text: r.name || r.customer_id }), el("td", { text: formatDate(r.issue_date || r.date) }),
      el("td", { text: formatDate(r.due_date) }), el("td", { class: "num", text: r.age }),
      el("td", { text: bucketLabel(r.bucket) }), el("td", { class: "num", text: formatAmount(r.amount, r.currency) }),
      el("td", { class: "num", text: formatAmount(r.balance, r.currency) })));
  }
  h.focus();
}

// ------------------------------------------------------------------------------------------ forecast

// The weekly expected cash-in first (fast), then the back-test's measured error beside it (slower: it replays
// the ledger's history); a newer load (after an edit) wins over an older one still answering.
async function loadForecast() {
  const load = ++state.forecastLoads;
  const err = $("forecast-error-msg");
  show(err, false);
  $("forecast-accuracy-text").textContent = t("accuracy_loading");
  show($("forecast-accuracy-table"), false);
  $("forecast-accuracy-note").textContent = "";
  let f;
  try {
    f = await ds.forecast({ weeks: 13 });
  } catch (e) {
    if (load === state.forecastLoads) showError(err, e);
    $("forecast-accuracy-text").textContent = "";
    return;
  }
  if (load !== state.forecastLoads) return;
  state.forecast = f;
  renderForecast();
  try {
    const b = await ds.forecast({ weeks: 13, backtest: true });
    if (load !== state.forecastLoads) return;
    state.forecast = { ...f, backtest: b.backtest };
    renderAccuracy();
  } catch (e) {
    if (load === state.forecastLoads) { $("forecast-accuracy-text").textContent = ""; showError(err, e); }
  }
}

function addDays(iso, days) {
  const d = new Date(`${iso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function forecastCurrencies(f) {
  return Object.keys((f.weeks[0] && f.weeks[0].inflow) || f.later || {});
}

function renderForecast() {
  const f = state.forecast;
  const weeks = f.weeks.length;
  const curs = forecastCurrencies(f);
  const lead = weeks ? t("forecast_lead", { weeks, start: formatDate(f.weeks[0].start),
    end: formatDate(addDays(f.weeks[weeks - 1].start, 6)), count: f.open_invoices }) : "";
  const later = Object.entries(f.later || {}).filter(([, v]) => /[1-9]/.test(v));
  $("forecast-lead").textContent = !curs.length ? t("forecast_none")
    : lead + (later.length ? ` ${t("forecast_later", { later: totalsText(Object.fromEntries(later)) })}` : "");
  const table = $("forecast-table");
  clear(table.tHead).append(el("tr", {}, el("th", { scope: "col", text: t("col_week") }),
    curs.map((c) => el("th", { scope: "col", class: "num", text: c }))));
  const body = clear(table.tBodies[0]);
  f.weeks.forEach((w, k) => {
    body.append(el("tr", { dataset: { week: k + 1 } },
      el("th", { scope: "row", text: `${k + 1}. ${t("week_range", { start: formatDate(w.start), end: formatDate(addDays(w.start, 6)) })}` }),
      curs.map((c) => el("td", { class: "num", dataset: { currency: c }, text: formatAmount(w.inflow[c]) }))));
  });
  const foot = clear(table.tFoot);
  if (curs.length) {
    foot.append(el("tr", { dataset: { row: "total" } }, el("th", { scope: "row", text: t("total_row", { weeks }) }),
      curs.map((c) => el("td", { class: "num", dataset: { currency: c },
        text: formatAmount(decimalSum(f.weeks.map((w) => w.inflow[c]))) }))));
    foot.append(el("tr", { dataset: { row: "later" } }, el("th", { scope: "row", text: t("later_row") }),
      curs.map((c) => el("td", { class: "num", dataset: { currency: c }, text: formatAmount(f.later[c]) }))));
  }
  show(table, curs.length > 0);
  drawForecastCharts();
}

function drawForecastCharts() {
  const f = state.forecast;
  if (!f || typeof window.Chart === "undefined" || state.tab !== "forecast") return;
  for (const c of state.forecastCharts) c.destroy();
  state.forecastCharts = [];
  const box = clear($("forecast-charts"));
  const labels = f.weeks.map((w) => formatDate(w.start));
  for (const cur of forecastCurrencies(f)) {
    const values = f.weeks.map((w) => w.inflow[cur]);
    const parts = f.weeks.map((w, k) => `${formatDate(w.start)} ${formatAmount(values[k], cur)}`).join(", ");
    const canvas = el("canvas", { role: "img", "aria-label": t("chart_forecast_label", { cur, parts }) });
    box.append(el("div", { class: "chart", dataset: { currency: cur } },
      el("h3", { text: t("chart_forecast_title", { cur }) }), el("div", { class: "canvas-box" }, canvas)));
    state.forecastCharts.push(new window.Chart(canvas, {
      type: "bar",
      data: { labels, datasets: [{ label: cur, backgroundColor: "#1f5fa8", data: values.map(Number) }] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: { beginAtZero: true, ticks: { callback: (v) => formatAmount(String(v)) } } },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (ctx) => formatAmount(values[ctx.dataIndex], cur) } },
        },
      },
    }));
  }
}

function signedPct(v) {
  const n = Number(v);
  return n >= 0 ? t("pct_less", { v: formatAmount(String(v)) }) : t("pct_more", { v: formatAmount(String(-n)) });
}

function renderAccuracy() {
  const b = state.forecast.backtest;
  const text = $("forecast-accuracy-text");
  const table = $("forecast-accuracy-table");
  if (!b || !b.evaluated) {
    text.textContent = t("accuracy_none");
    show(table, false);
    return;
  }
  const mae = b.mae_days;
  const days = (v) => formatAmount(String(v));
  text.textContent = `${t("accuracy_text", { cutoffs: b.cutoffs.length, count: b.evaluated, model: days(mae.model),
    due: days(mae.due_date), avg: days(mae.customer_average) })} ${t("accuracy_compare", {
    due: signedPct(b.improvement_pct.due_date), avg: signedPct(b.improvement_pct.customer_average) })}`;
  const body = clear(table.tBodies[0]);
  for (const m of ["model", "due_date", "customer_average"]) {
    const acc = b.late_accuracy_pct[m];
    body.append(el("tr", { dataset: { method: m }, class: m === "model" ? "chosen-row" : "" },
      el("th", { scope: "row", text: t(`m_${m}`) }),
      el("td", { class: "num", text: days(mae[m]) }),
      el("td", { class: "num", text: acc === undefined || acc === null ? t("na") : t("percent", { v: formatAmount(String(acc)) }) })));
  }
  show(table);
  $("forecast-accuracy-note").textContent = t("accuracy_note");
}

// ------------------------------------------------------------------------------------------ reconcile

function wireReconcile() {
  const zone = $("dropzone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length) $("statement-file").files = e.dataTransfer.files;
  });
  $("statement-form").addEventListener("submit", propose);
  $("apply").addEventListener("click", applyMatches);
}

async function propose(e) {
  e.preventDefault();
  const box = $("reconcile-error");
  show(box, false);
  const file = $("statement-file").files[0];
  const text = $("statement-text").value;
  if (!file && !text.trim()) { box.textContent = t("nothing_to_read"); show(box); return; }
  try {
    const r = await ds.propose(file ? { file } : { text }, { auto: $("statement-auto").checked });
    $("reconcile-summary").textContent = t("rec_summary", { format: r.format, lines: r.lines, proposed: r.proposed,
      auto: r.auto_accepted, unmatched: r.unmatched, applied: r.already_applied })
      + (r.warnings && r.warnings.length ? `\n${r.warnings.join("\n")}` : "");
    await loadMatches();
  } catch (err) {
    showError(box, err);
  }
}

async function loadMatches() {
  let data;
  try {
    data = await ds.matches();
  } catch (err) {
    showError($("reconcile-error"), err);
    return;
  }
  const table = $("matches");
  const body = clear(table.tBodies[0]);
  for (const m of data.rows) body.append(matchRow(m));
  show(table, data.rows.length > 0);
  show($("apply"), data.rows.length > 0);
}

function matchRow(m) {
  const ids = el("input", { value: (m.invoice_ids || []).join(", "), size: 16,
    "aria-label": t("invoices_for", { line: m.statement_line }) });
  const status = el("span", { class: "muted", text: t(m.action ? `${m.action}ed` : "undecided") });
  const tr = el("tr", { class: m.action === "accept" ? "done" : "", dataset: { line: m.statement_line } });
  const decide = async (action, button) => {
    try {
      await ds.decide([{ statement_line: m.statement_line, action,
        invoice_ids: ids.value.split(/[,;\s]+/).filter(Boolean) }]);
      m.action = action;
      status.textContent = t(`${action}ed`);
      tr.className = action === "accept" ? "done" : "";
      for (const b of tr.querySelectorAll("button")) b.classList.toggle("chosen", b === button);
      show($("reconcile-error"), false);
    } catch (err) {
      showError($("reconcile-error"), err);
    }
  };
  const acc = el("button", { type: "button", class: `small${m.action === "accept" ? " chosen" : ""}`, text: t("accept"),
    "aria-label": `${t("accept")} ${m.statement_line}` });
  const rej = el("button", { type: "button", class: `small${m.action === "reject" ? " chosen" : ""}`, text: t("reject"),
    "aria-label": `${t("reject")} ${m.statement_line}` });
  acc.addEventListener("click", () => decide("accept", acc));
  rej.addEventListener("click", () => decide("reject", rej));
  tr.append(el("td", { text: formatDate(m.date) }), el("td", { class: "num", text: formatAmount(m.amount, m.currency) }),
    el("td", { text: m.text }), el("td", { text: m.customer_id }), el("td", {}, ids),
    el("td", { text: m.reason + (m.confidence !== null ? ` (${Math.round(m.confidence * 100)} %)` : "") }),
    el("td", {}, el("div", { class: "actions" }, acc, rej), status));
  return tr;
}

async function applyMatches() {
  const out = $("apply-result");
  out.textContent = "";
  try {
    const r = await ds.applyMatches();
    out.textContent = r.payments_added ? t("applied", { payments: r.payments_added, lines: r.applied_lines })
      : t("nothing_applied");
    await loadMatches();
    await load();
  } catch (err) {
    showError($("reconcile-error"), err);
  }
}

// ------------------------------------------------------------------------------------------ send reminders

function wireSend() {
  $("preview-refresh").addEventListener("click", () => preview());
  $("send-button").addEventListener("click", askToSend);
  $("confirm-form").addEventListener("submit", (e) => { e.preventDefault(); $("confirm-dialog").close(); sendNow(); });
}

async function preview() {
  const err = $("send-error");
  show(err, false);
  let p;
  try {
    p = await ds.previewReminders();
  } catch (e) {
    state.preview = null;
    clear($("preview-items"));
    $("send-summary").textContent = "";
    $("send-button").disabled = true;
    showError(err, e);
    return;
  }
  state.preview = p;
  const s = p.summary;
  const plan = p.plan;
  let summary = s.count ? t("send_summary", { count: s.count, emails: s.emails, total: totalsText(s.totals) })
    : t("send_none");
  if (!plan.working_day) summary += ` ${t("not_working_day", { holiday: plan.holiday || "", next: formatDate(plan.next_working_day) })}`;
  $("send-summary").textContent = summary;
  $("send-button").disabled = !s.count;
  const box = clear($("preview-items"));
  for (const it of plan.items) box.append(previewItem(it));
  for (const f of plan.fixes) {
    box.append(el("div", { class: "item" }, el("h3", {}, `${f.customer_name} (${f.customer_id})`,
      el("span", { class: "badge warn", text: t("fix") })), el("p", { text: f.message })));
  }
  for (const h of plan.handovers) {
    box.append(el("div", { class: "item" }, el("h3", {}, `${h.customer_name} (${h.customer_id})`,
      el("span", { class: "badge", text: t("handover") })),
    el("p", { text: `${h.collector || ""} · ${h.level} · ${h.invoice_ids.join(", ")} · ${totalsText(h.totals)}` })));
  }
}

function previewItem(it) {
  const dl = el("dl", {},
    el("dt", { text: t("level") }), el("dd", { text: it.level }),
    el("dt", { text: t("channel") }), el("dd", { text: t(`ch_${it.channel}`) }),
    it.to.length ? [el("dt", { text: t("to") }), el("dd", { text: it.to.join(", ") })] : null,
    it.subject ? [el("dt", { text: t("subject") }), el("dd", { text: it.subject })] : null,
    el("dt", { text: t("invoices") }), el("dd", { text: it.invoice_ids.join(", ") }),
    el("dt", { text: t("amount_due") }), el("dd", { text: totalsText(it.totals) }));
  const details = el("details", {}, el("summary", { text: t("message") }));
  details.addEventListener("toggle", () => {
    if (!details.open || details.dataset.filled) return;
    details.dataset.filled = "1";
    if (it.html) {
      // The rendered e-mail as the customer sees it: a sandboxed frame (no scripts, no same-origin access).
      details.append(el("iframe", { sandbox: "", title: `${t("message_html")}: ${it.customer_name}`,
        srcdoc: it.html, referrerpolicy: "no-referrer" }));
    }
    details.append(el("pre", { text: it.text || it.call_notes || it.whatsapp_url || "" }));
  });
  return el("div", { class: "item plan-item", dataset: { customer: it.customer_id } },
    el("h3", {}, `${it.customer_name} (${it.customer_id})`, el("span", { class: "badge", text: it.level }),
      el("span", { class: "badge", text: t(`ch_${it.channel}`) })),
    dl, details);
}

function askToSend() {
  const p = state.preview;
  if (!p) return;
  if (state.polling) { // this page's own run: say so (never start another without a confirmation)
    const err = $("send-error");
    err.textContent = t("already_running");
    show(err);
    return;
  }
  $("confirm-text").textContent = t("confirm_text", { count: p.summary.count, emails: p.summary.emails,
    total: totalsText(p.summary.totals) });
  $("confirm-dialog").showModal();
}

async function sendNow() {
  const err = $("send-error");
  show(err, false);
  try {
    const run = await ds.startSending({ expectCount: state.preview.summary.count });
    progress(run);
    if (!state.polling) state.polling = setInterval(poll, 300);
  } catch (e) {
    showError(err, e);
  }
}

function progress(run) {
  show($("send-progress"));
  const bar = $("send-bar");
  bar.max = Math.max(run.total, 1);
  bar.value = run.total ? run.done : run.state === "running" ? 0 : 1;
  $("send-progress-label").textContent = t("sending", { done: run.done, total: run.total });
}

async function poll() {
  let run;
  try {
    run = await ds.sendingStatus();
  } catch (e) {
    return;
  }
  progress(run);
  if (run.state === "running") return;
  clearInterval(state.polling);
  state.polling = null;
  show($("send-progress"), false);
  const out = $("send-result");
  if (run.error) showError($("send-error"), new DataSourceError(run.status || 500, run.error));
  if (run.result) {
    const results = (run.result.send && run.result.send.results) || [];
    const count = (st) => results.filter((r) => r.status === st).length;
    out.textContent = t("sent_result", { sent: count("sent"), failed: count("failed"),
      pending: results.length - count("sent") - count("failed"), logged: run.result.logged_contacts });
  }
  state.preview = null;
  await load();
  await preview();
}

start();
