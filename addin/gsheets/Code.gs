/**
 * cobro for Google Sheets — the Cobro menu, the sidebar and two custom functions.
 *
 * The script stays thin: the cobro service reads and writes this sheet itself (through the Sheets API, with the
 * service account the sheet is shared with); the script only asks it to act and shows what it answers.
 * Settings (the service's HTTPS address and this ledger's token) live in the document's PropertiesService,
 * never in a cell. UrlFetchApp runs in Google's data centres: the service must be reachable over public HTTPS.
 */

var COBRO_TEXTS = {
  es: {
    menu: 'Cobro', send: 'Enviar recordatorios', preview: 'Vista previa', reconcile: 'Conciliar banco',
    open: 'Abrir Cobro', settings: 'Configuración',
    confirmTitle: 'Enviar recordatorios',
    confirm: 'Se enviarán {count} recordatorio(s) por un total de {total}. ¿Enviar ahora?',
    nothing: 'Hoy no hay recordatorios que enviar.',
    sent: 'Enviados: {sent}. Fallidos: {failed}. Pendientes: {pending}. Gestiones registradas: {logged}.',
    previewTitle: 'Recordatorios de hoy', noSettings: 'Configure primero la dirección del servicio y el token (Cobro ▸ Configuración).',
    askUrl: 'Dirección HTTPS del servicio cobro (p. ej. https://cobro.empresa.es):',
    askToken: 'Token de este libro (cobro token …):', saved: 'Configuración guardada.',
    badUrl: 'La dirección debe empezar por https://',
    unauthorized: 'El servicio no reconoce el token de este libro (401). Revíselo en Cobro ▸ Configuración.',
    busy: 'Ya hay un envío en curso para este libro (409). Espere a que termine y vuelva a intentarlo.',
    failed: 'El servicio respondió {status}: {message}', unreachable: 'No se pudo contactar con el servicio: {message}',
    problems: 'Problemas en el libro:'
  },
  en: {
    menu: 'Cobro', send: 'Send reminders', preview: 'Preview', reconcile: 'Reconcile bank',
    open: 'Open Cobro', settings: 'Settings',
    confirmTitle: 'Send reminders',
    confirm: '{count} reminder(s) for a total of {total} will be sent. Send now?',
    nothing: 'There are no reminders to send today.',
    sent: 'Sent: {sent}. Failed: {failed}. Pending: {pending}. Contacts logged: {logged}.',
    previewTitle: "Today's reminders", noSettings: 'First set the service address and the token (Cobro ▸ Settings).',
    askUrl: 'HTTPS address of the cobro service (e.g. https://cobro.example.com):',
    askToken: "This workbook's token (cobro token …):", saved: 'Settings saved.',
    badUrl: 'The address must start with https://',
    unauthorized: "The service does not know this workbook's token (401). Check it in Cobro ▸ Settings.",
    busy: 'A send is already in progress for this workbook (409). Wait for it to finish and try again.',
    failed: 'The service answered {status}: {message}', unreachable: 'The service could not be reached: {message}',
    problems: 'Problems in the workbook:'
  }
};

function cobroLang_() {
  var locale = '';
  try { locale = SpreadsheetApp.getActive().getSpreadsheetLocale() || ''; } catch (e) { locale = ''; }
  return String(locale).toLowerCase().indexOf('es') === 0 ? 'es' : 'en';
}

function cobroText_(key, values) {
  var text = COBRO_TEXTS[cobroLang_()][key] || COBRO_TEXTS.en[key] || key;
  Object.keys(values || {}).forEach(function (k) { text = text.split('{' + k + '}').join(String(values[k])); });
  return text;
}

/** The Cobro menu, in the sheet's language. */
function onOpen() {
  SpreadsheetApp.getUi().createMenu(cobroText_('menu'))
    .addItem(cobroText_('send'), 'cobroSend')
    .addItem(cobroText_('preview'), 'cobroPreview')
    .addItem(cobroText_('reconcile'), 'cobroReconcile')
    .addItem(cobroText_('open'), 'cobroOpen')
    .addSeparator()
    .addItem(cobroText_('settings'), 'cobroSettings')
    .addToUi();
}

function onInstall() { onOpen(); }

function cobroConfig_() {
  var props = PropertiesService.getDocumentProperties();
  return { url: props.getProperty('COBRO_URL') || '', token: props.getProperty('COBRO_TOKEN') || '' };
}

/** Ask for the service address and the token; kept in the document's properties, never in a cell. */
function cobroSettings() {
  var ui = SpreadsheetApp.getUi();
  var url = ui.prompt(cobroText_('settings'), cobroText_('askUrl'), ui.ButtonSet.OK_CANCEL);
  if (url.getSelectedButton() !== ui.Button.OK) return;
  var address = String(url.getResponseText()).trim().replace(/\/+$/, '');
  if (address.indexOf('https://') !== 0 && address.indexOf('http://127.0.0.1') !== 0) {
    ui.alert(cobroText_('badUrl'));
    return;
  }
  var token = ui.prompt(cobroText_('settings'), cobroText_('askToken'), ui.ButtonSet.OK_CANCEL);
  if (token.getSelectedButton() !== ui.Button.OK) return;
  var props = PropertiesService.getDocumentProperties();
  props.setProperty('COBRO_URL', address);
  props.setProperty('COBRO_TOKEN', String(token.getResponseText()).trim());
  ui.alert(cobroText_('saved'));
}

/** One call to the service: {ok, status, body} or {ok: false, message} — never an exception for the user. */
function cobroCall_(method, path, payload) {
  var cfg = cobroConfig_();
  if (!cfg.url || !cfg.token) return { ok: false, status: 0, message: cobroText_('noSettings') };
  var options = {
    method: method, muteHttpExceptions: true, contentType: 'application/json',
    headers: { Authorization: 'Bearer ' + cfg.token, Accept: 'application/json' }
  };
  if (payload !== undefined) options.payload = JSON.stringify(payload);
  var response;
  try {
    response = UrlFetchApp.fetch(cfg.url + path, options);
  } catch (e) {
    return { ok: false, status: 0, message: cobroText_('unreachable', { message: e && e.message ? e.message : e }) };
  }
  var status = response.getResponseCode();
  var body = {};
  try { body = JSON.parse(response.getContentText() || '{}'); } catch (e) { body = {}; }
  if (status >= 200 && status < 300) return { ok: true, status: status, body: body };
  var message;
  if (status === 401) message = cobroText_('unauthorized');
  else if (status === 409) message = cobroText_('busy');
  else {
    message = cobroText_('failed', { status: status, message: body.error || response.getContentText() });
    if (body.problems && body.problems.length) {
      message += '\n' + cobroText_('problems') + '\n' + body.problems.slice(0, 10).map(function (p) {
        return '• ' + (p.message || JSON.stringify(p));
      }).join('\n');
    }
  }
  return { ok: false, status: status, body: body, message: message };
}

function cobroEmails_(plan) {
  return (plan.items || []).filter(function (it) { return it.channel === 'email' && !it.skipped; });
}

/** "1.234,56 EUR + 10,00 USD": the plan's totals per currency, added exactly (decimal strings, no floats) and
 * never summed across currencies. */
function cobroTotals_(items) {
  var totals = {};
  items.forEach(function (it) {
    var t = it.totals || {};
    Object.keys(t).forEach(function (cur) {
      var parts = String(t[cur]).split('.');
      var scale = parts.length > 1 ? parts[1].length : 0;
      var prev = totals[cur] || { units: 0, scale: scale };
      var s = Math.max(prev.scale, scale);
      var units = Math.round(Number(String(t[cur]).replace('.', '')) * Math.pow(10, s - scale));
      totals[cur] = { units: prev.units * Math.pow(10, s - prev.scale) + units, scale: s };
    });
  });
  var es = cobroLang_() === 'es';
  return Object.keys(totals).sort().map(function (cur) {
    var t = totals[cur];
    var neg = t.units < 0;
    var digits = String(Math.abs(t.units));
    while (digits.length <= t.scale) digits = '0' + digits;
    var whole = t.scale ? digits.slice(0, -t.scale) : digits;
    var frac = t.scale ? digits.slice(-t.scale) : '';
    whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, es ? '.' : ',');
    return (neg ? '-' : '') + whole + (frac ? (es ? ',' : '.') + frac : '') + ' ' + cur;
  }).join(' + ') || '0';
}

/** Cobro ▸ Send reminders: preview, confirm the count and total, then the service sends and logs. */
function cobroSend() {
  var ui = SpreadsheetApp.getUi();
  var preview = cobroCall_('post', '/api/reminders/preview', {});
  if (!preview.ok) { ui.alert(preview.message); return preview; }
  var items = cobroEmails_(preview.body.plan || {});
  if (!items.length) { ui.alert(cobroText_('nothing')); return preview; }
  var answer = ui.alert(cobroText_('confirmTitle'),
    cobroText_('confirm', { count: items.length, total: cobroTotals_(items) }), ui.ButtonSet.YES_NO);
  if (answer !== ui.Button.YES) return { ok: false, cancelled: true };
  var sent = cobroCall_('post', '/api/reminders/send', {});
  if (!sent.ok) { ui.alert(sent.message); return sent; }
  var results = (sent.body.send || {}).results || [];
  var count = function (status) { return results.filter(function (r) { return r.status === status; }).length; };
  ui.alert(cobroText_('sent', {
    sent: count('sent'), failed: count('failed'), pending: results.length - count('sent') - count('failed'),
    logged: sent.body.logged_contacts || 0
  }));
  return sent;
}

/** Cobro ▸ Preview: what would go out today, per customer. */
function cobroPreview() {
  var ui = SpreadsheetApp.getUi();
  var preview = cobroCall_('post', '/api/reminders/preview', {});
  if (!preview.ok) { ui.alert(preview.message); return preview; }
  var items = (preview.body.plan || {}).items || [];
  if (!items.length) { ui.alert(cobroText_('nothing')); return preview; }
  var html = HtmlService.createHtmlOutput(cobroPreviewHtml_(items)).setTitle(cobroText_('previewTitle'))
    .setWidth(640).setHeight(480);
  ui.showModalDialog(html, cobroText_('previewTitle'));
  return preview;
}

function cobroEscape_(text) {
  return String(text === undefined || text === null ? '' : text).replace(/&/g, '&amp;').replace(/</g, '&lt;')
    .replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function cobroPreviewHtml_(items) {
  var rows = items.map(function (it) {
    return '<tr><td>' + cobroEscape_(it.customer_name || it.customer_id) + '</td><td>' + cobroEscape_(it.level)
      + '</td><td>' + cobroEscape_(it.channel) + '</td><td>' + cobroEscape_((it.invoice_ids || []).join(', '))
      + '</td></tr>';
  }).join('');
  return '<table style="font:13px sans-serif;border-collapse:collapse" border="1" cellpadding="4">' + rows + '</table>';
}

function cobroPage_(view) {
  var cfg = cobroConfig_();
  var ui = SpreadsheetApp.getUi();
  if (!cfg.url || !cfg.token) { ui.alert(cobroText_('noSettings')); return null; }
  var src = cfg.url + '/' + (view ? '?view=' + encodeURIComponent(view) : '') + '#token=' + encodeURIComponent(cfg.token);
  var html = HtmlService.createHtmlOutput('<iframe src="' + cobroEscape_(src)
    + '" style="border:0;width:100%;height:100%;position:absolute;inset:0" title="Cobro"></iframe>')
    .setTitle('Cobro');
  ui.showSidebar(html);
  return src;
}

/** Cobro ▸ Open Cobro: the page in the sidebar. */
function cobroOpen() { return cobroPage_(''); }

/** Cobro ▸ Reconcile bank: the page, on its paste box. */
function cobroReconcile() { return cobroPage_('reconcile'); }

function cobroSummary_(asOf, months) {
  var q = [];
  if (asOf) q.push('as_of=' + encodeURIComponent(cobroIsoDate_(asOf)));
  if (months) q.push('months=' + encodeURIComponent(months));
  var res = cobroCall_('get', '/api/summary' + (q.length ? '?' + q.join('&') : ''));
  if (!res.ok) throw new Error(res.message);
  return res.body;
}

function cobroIsoDate_(value) {
  if (Object.prototype.toString.call(value) === '[object Date]') {
    return Utilities.formatDate(value, Session.getScriptTimeZone(), 'yyyy-MM-dd');
  }
  return String(value);
}

/**
 * The aging per customer and currency, amounts as numbers.
 * @param {Date} asOf The as-of date (e.g. TODAY()).
 * @return The aging table.
 * @customfunction
 */
function COBRO_AGING(asOf) {
  var aging = cobroSummary_(asOf, 0).aging;
  var head = ['customer_id', 'currency', 'not_due'].concat(aging.buckets).concat(['total_due']);
  return [head].concat(aging.rows.map(function (r) {
    return [r.customer_id, r.currency, Number(r.not_due)].concat(r.buckets.map(Number)).concat([Number(r.total_due)]);
  }));
}

/**
 * The collection KPIs (DSO, countback DSO, best possible DSO, ADD, CEI) per currency, as numbers.
 * @param {Date} asOf The as-of date (e.g. TODAY()).
 * @param {number} months The period in months (default 3).
 * @return The KPI table.
 * @customfunction
 */
function COBRO_KPIS(asOf, months) {
  var k = cobroSummary_(asOf, months || 3).kpis;
  var rows = [['currency', 'dso', 'countback_dso', 'best_possible_dso', 'add', 'cei']];
  var currencies = k.currencies || {};
  Object.keys(currencies).sort().forEach(function (cur) {
    var c = currencies[cur];
    rows.push([cur, cobroNum_(c.dso), cobroNum_(c.countback_dso), cobroNum_(c.best_dso), cobroNum_(c.add),
      cobroNum_(c.cei)]);
  });
  return rows;
}

function cobroNum_(v) { return v === null || v === undefined || v === '' ? '' : Number(v); }
