// The page's words in English and Spanish; the ledger's locale (Settings.locale) chooses.
const STRINGS = {
  en: {
    skip: "Skip to content", signout: "Sign out", tab_today: "Today", tab_aging: "Aging and KPIs",
    tab_reconcile: "Reconcile", tab_send: "Send reminders",
    signin_title: "Sign in", token: "API token", signin: "Sign in",
    signin_help: "Paste the ledger's API token (the command `cobro token LEDGER` prints it). It is kept in this browser only.",
    bad_token: "This token opens no ledger served here. Check it and paste it again.",
    problems_title: "The workbook needs fixing", retry: "Read the workbook again",
    col_sheet: "Sheet", col_row: "Row", col_column: "Column", col_problem: "Problem",
    today_title: "Whom to contact today", col_customer: "Customer", col_why: "Why", col_next: "Next action",
    col_when: "When", col_overdue: "Overdue", col_actions: "Record", show_more: "Show more",
    nothing_today: "Nobody needs a contact today.",
    act_call: "Call", act_promise: "Promise", act_dispute: "Dispute", act_pause: "Pause", act_resume: "Resume",
    dlg_call: "Call outcome", dlg_promise: "Promise to pay", dlg_dispute: "Dispute", dlg_pause: "Pause reminders",
    dlg_resume: "Resume reminders",
    f_outcome: "What happened", o_reached: "Reached the customer", o_no_answer: "No answer", o_note: "Note only",
    f_notes: "Notes", f_promise_date: "Promised payment date", f_promise_amount: "Promised amount ({cur})",
    f_invoices: "Invoices (numbers separated by commas; blank: all of the customer)",
    pause_help: "No reminders go out to a paused customer; the worklist shows it last.",
    cancel: "Cancel", save: "Save", close: "Close",
    saved: "Recorded in {sheet}, for {customer}.", today: "today",
    aging_title: "Aging", aging_totals: "Totals per currency (click an amount to see its invoices)",
    not_due: "not due", days: "{label} days", total_due: "total overdue", outstanding: "outstanding",
    chart_label: "Aging in {cur}: {parts}",
    kpis_title: "KPIs", customers_title: "Customers",
    kpi_period: "Period {start} to {end} ({days} days).",
    kpi_dso: "DSO", kpi_countback_dso: "Countback DSO", kpi_best_dso: "Best possible DSO", kpi_add: "ADD",
    kpi_cei: "CEI",
    help_dso: "Days of sales the receivables represent: receivables ÷ credit sales × days.",
    help_countback_dso: "Days it takes, counting back month by month, for the sales to add up to today's receivables.",
    help_best_dso: "DSO if every customer paid on time: only not-yet-due receivables count.",
    help_add: "Average days delinquent: DSO minus best possible DSO — the days lost to late payment.",
    help_cei: "Collection effectiveness: the share of what could be collected in the period that was collected (100% is perfect).",
    days_unit: "{v} days", percent: "{v} %", na: "n/a",
    no_items: "No open items here.", invoices_of: "Open items of {who}", invoices_bucket: "Open items {bucket} in {cur}",
    col_invoice: "Invoice", col_issue: "Issued", col_due: "Due", col_age: "Days", col_bucket: "Bucket",
    col_balance: "Balance", col_amount: "Amount", col_kind: "Kind", col_date: "Date", col_text: "Description",
    col_invoices: "Invoices", col_reason: "Reason", col_decision: "Decision", col_currency: "Currency",
    kind_invoice: "invoice", kind_credit_note: "credit note", kind_advance: "advance",
    reconcile_title: "Reconcile the bank",
    paste_label: "Paste the statement lines (copied from the bank's web page or a spreadsheet)",
    file_label: "…or choose or drop a statement file (Norma 43, CAMT.053, MT940, OFX, CSV, .xlsx)",
    auto_label: "Accept sure matches (invoice number or reference, exact amount) by themselves",
    propose: "Propose matches", nothing_to_read: "Paste the statement's lines or choose a file first.",
    matches_caption: "Proposals: accept, reject or change the invoices, then apply",
    rec_summary: "{format}: {lines} lines, {proposed} proposed, {auto} accepted by themselves, {unmatched} without a match, {applied} already applied.",
    accept: "Accept", reject: "Reject", accepted: "accepted", rejected: "rejected", undecided: "to decide",
    apply: "Apply accepted matches", applied: "{payments} payments added to the Payments sheet from {lines} statement lines.",
    nothing_applied: "No accepted line to apply.",
    invoices_for: "Invoices for line {line}",
    send_title: "Reminders due today", preview_again: "Look again", send_button: "Send",
    send_summary: "{count} reminders today ({emails} by e-mail), for {total}.",
    send_none: "Nothing to send today.", not_working_day: "Today is not a working day ({holiday}); next: {next}.",
    confirm_title: "Send the reminders?",
    confirm_text: "{count} reminders ({emails} e-mails) for {total} will go out now. Each is sent exactly once and recorded in the Contacts sheet.",
    send_now: "Send now", sending: "Sending… {done} of {total}",
    already_running: "A run is already in progress on this ledger: wait for it to finish.",
    sent_result: "Done: {sent} sent, {failed} failed, {pending} pending; {logged} Contacts rows written.",
    level: "Level", channel: "Channel", to: "To", subject: "Subject", invoices: "Invoices", amount_due: "Amount",
    message: "Message", message_html: "Message as the customer sees it", fix: "Fix contact data",
    handover: "Handed to a person", ch_email: "e-mail", ch_phone: "call", ch_letter: "letter", ch_whatsapp: "WhatsApp",
    template_error: "Template {template} ({language}), {part}, line {line}: {message}",
    plan_broken: "Nothing was sent: a template or a setting is broken. Fix it in the workbook first:",
    error_generic: "Something went wrong: {message}", offline: "The service cannot be reached. Is `cobro serve` running?",
    as_of: "as of {date}", ledger: "ledger {name}",
    tab_forecast: "Forecast", forecast_title: "When the money comes in",
    forecast_lead: "Expected cash-in per week for the {weeks} weeks from {start} to {end}, from {count} open invoices.",
    forecast_later: "Expected after that: {later}.", forecast_none: "No open invoices: no cash-in to expect.",
    forecast_caption: "Expected cash-in per week and currency", col_week: "Week", week_range: "{start} – {end}",
    later_row: "Later", total_row: "Total, {weeks} weeks", chart_forecast_title: "Expected cash-in — {cur}",
    chart_forecast_label: "Expected cash-in per week in {cur}: {parts}",
    accuracy_title: "How far off it has been", accuracy_loading: "Measuring the error on the ledger's history…",
    accuracy_caption: "Back-test: mean absolute error of the expected payment date, in days",
    accuracy_text: "Replayed at the last {cutoffs} month ends with only what was known then, on {count} invoices paid since: the expected payment dates were {model} days off on average; the due date was {due} days off, each customer's average delay {avg} days off.",
    accuracy_compare: "Against the due date: {due}; against the customer's average: {avg}.",
    pct_less: "{v} % less error", pct_more: "{v} % more error",
    accuracy_none: "Not enough paid invoices in the history yet to measure the error.",
    accuracy_note: "Mean error: the average number of days between the expected and the actual payment date. Late / on time right: the share of invoices not yet due whose lateness was foreseen right (published studies on Latin American invoices reach 77–81 %).",
    col_method: "Method", col_mae: "Mean error (days)", col_late_acc: "Late / on time right",
    m_model: "This forecast", m_due_date: "Due date", m_customer_average: "Customer's average delay",
    forecast_how: "How: each open invoice's expected payment date is learned from its customer's own payment history (similar customers' when it has little) and blended with its average delay; a pending promise from a customer who keeps them sets the date. Each invoice's balance counts in the week of its expected date.",
  },
  es: {
    skip: "Saltar al contenido", signout: "Salir", tab_today: "Hoy", tab_aging: "Antigüedad y KPIs",
    tab_reconcile: "Conciliar", tab_send: "Enviar recordatorios",
    signin_title: "Entrar", token: "Token de la API", signin: "Entrar",
    signin_help: "Pegue el token de la API del libro (lo muestra la orden `cobro token LIBRO`). Se guarda solo en este navegador.",
    bad_token: "Este token no abre ningún libro de este servicio. Compruébelo y péguelo otra vez.",
    problems_title: "Hay que corregir el libro", retry: "Leer el libro otra vez",
    col_sheet: "Hoja", col_row: "Fila", col_column: "Columna", col_problem: "Problema",
    today_title: "A quién contactar hoy", col_customer: "Cliente", col_why: "Por qué", col_next: "Siguiente acción",
    col_when: "Cuándo", col_overdue: "Vencido", col_actions: "Registrar", show_more: "Mostrar más",
    nothing_today: "Hoy no hay que contactar a nadie.",
    act_call: "Llamada", act_promise: "Promesa", act_dispute: "Disputa", act_pause: "Pausar", act_resume: "Reanudar",
    dlg_call: "Resultado de la llamada", dlg_promise: "Promesa de pago", dlg_dispute: "Disputa",
    dlg_pause: "Pausar recordatorios", dlg_resume: "Reanudar recordatorios",
    f_outcome: "Qué pasó", o_reached: "Se habló con el cliente", o_no_answer: "No contestó", o_note: "Solo una nota",
    f_notes: "Notas", f_promise_date: "Fecha de pago prometida", f_promise_amount: "Importe prometido ({cur})",
    f_invoices: "Facturas (números separados por comas; en blanco: todas las del cliente)",
    pause_help: "A un cliente en pausa no se le envían recordatorios; la lista lo muestra al final.",
    cancel: "Cancelar", save: "Guardar", close: "Cerrar",
    saved: "Registrado en {sheet}, para {customer}.", today: "hoy",
    aging_title: "Antigüedad de saldos", aging_totals: "Totales por moneda (pulse un importe para ver sus facturas)",
    not_due: "no vencido", days: "{label} días", total_due: "total vencido", outstanding: "pendiente",
    chart_label: "Antigüedad en {cur}: {parts}",
    kpis_title: "KPIs", customers_title: "Clientes",
    kpi_period: "Periodo del {start} al {end} ({days} días).",
    kpi_dso: "DSO", kpi_countback_dso: "DSO por meses", kpi_best_dso: "Mejor DSO posible", kpi_add: "ADD",
    kpi_cei: "CEI",
    help_dso: "Días de ventas que representa el saldo: saldo ÷ ventas a crédito × días.",
    help_countback_dso: "Días que hay que retroceder, mes a mes, para que las ventas sumen el saldo de hoy.",
    help_best_dso: "El DSO si todos pagaran a tiempo: solo cuenta el saldo aún no vencido.",
    help_add: "Días medios de retraso: DSO menos el mejor DSO posible — los días perdidos por pagos tardíos.",
    help_cei: "Eficacia de cobro: la parte de lo cobrable en el periodo que se cobró (100 % es perfecto).",
    days_unit: "{v} días", percent: "{v} %", na: "n/d",
    no_items: "No hay partidas abiertas aquí.", invoices_of: "Partidas abiertas de {who}", invoices_bucket: "Partidas abiertas {bucket} en {cur}",
    col_invoice: "Factura", col_issue: "Emisión", col_due: "Vencimiento", col_age: "Días", col_bucket: "Tramo",
    col_balance: "Saldo", col_amount: "Importe", col_kind: "Tipo", col_date: "Fecha", col_text: "Concepto",
    col_invoices: "Facturas", col_reason: "Motivo", col_decision: "Decisión", col_currency: "Moneda",
    kind_invoice: "factura", kind_credit_note: "abono", kind_advance: "anticipo",
    reconcile_title: "Conciliar el banco",
    paste_label: "Pegue las líneas del extracto (copiadas de la web del banco o de una hoja de cálculo)",
    file_label: "…o elija o suelte un fichero de extracto (Norma 43, CAMT.053, MT940, OFX, CSV, .xlsx)",
    auto_label: "Aceptar solas las coincidencias seguras (número de factura o referencia, importe exacto)",
    propose: "Proponer coincidencias", nothing_to_read: "Pegue antes las líneas del extracto o elija un fichero.",
    matches_caption: "Propuestas: acepte, rechace o cambie las facturas y después aplique",
    rec_summary: "{format}: {lines} líneas, {proposed} propuestas, {auto} aceptadas solas, {unmatched} sin coincidencia, {applied} ya aplicadas.",
    accept: "Aceptar", reject: "Rechazar", accepted: "aceptada", rejected: "rechazada", undecided: "por decidir",
    apply: "Aplicar las aceptadas", applied: "{payments} cobros añadidos a la hoja Cobros desde {lines} líneas del extracto.",
    nothing_applied: "No hay líneas aceptadas que aplicar.",
    invoices_for: "Facturas de la línea {line}",
    send_title: "Recordatorios de hoy", preview_again: "Volver a mirar", send_button: "Enviar",
    send_summary: "{count} recordatorios hoy ({emails} por email), por {total}.",
    send_none: "Hoy no hay nada que enviar.", not_working_day: "Hoy no es día laborable ({holiday}); el siguiente: {next}.",
    confirm_title: "¿Enviar los recordatorios?",
    confirm_text: "Se enviarán ahora {count} recordatorios ({emails} emails) por {total}. Cada uno se envía una sola vez y queda registrado en la hoja Gestiones.",
    send_now: "Enviar ahora", sending: "Enviando… {done} de {total}",
    already_running: "Ya hay un envío en curso en este libro: espere a que termine.",
    sent_result: "Hecho: {sent} enviados, {failed} fallidos, {pending} pendientes; {logged} filas escritas en Gestiones.",
    level: "Nivel", channel: "Canal", to: "Para", subject: "Asunto", invoices: "Facturas", amount_due: "Importe",
    message: "Mensaje", message_html: "El mensaje como lo verá el cliente", fix: "Corregir datos de contacto",
    handover: "Pasa a una persona", ch_email: "email", ch_phone: "llamada", ch_letter: "carta", ch_whatsapp: "WhatsApp",
    template_error: "Plantilla {template} ({language}), {part}, línea {line}: {message}",
    plan_broken: "No se ha enviado nada: hay una plantilla o un ajuste roto. Corríjalo antes en el libro:",
    error_generic: "Algo ha fallado: {message}", offline: "No se puede contactar con el servicio. ¿Está en marcha `cobro serve`?",
    as_of: "a {date}", ledger: "libro {name}",
    tab_forecast: "Previsión", forecast_title: "Cuándo entrará el dinero",
    forecast_lead: "Cobros previstos por semana en las {weeks} semanas del {start} al {end}, de {count} facturas abiertas.",
    forecast_later: "Previsto después: {later}.", forecast_none: "No hay facturas abiertas: no hay cobros que prever.",
    forecast_caption: "Cobros previstos por semana y moneda", col_week: "Semana", week_range: "{start} – {end}",
    later_row: "Después", total_row: "Total, {weeks} semanas", chart_forecast_title: "Cobros previstos — {cur}",
    chart_forecast_label: "Cobros previstos por semana en {cur}: {parts}",
    accuracy_title: "Cuánto se ha equivocado", accuracy_loading: "Midiendo el error sobre la historia del libro…",
    accuracy_caption: "Prueba histórica: error absoluto medio de la fecha de cobro prevista, en días",
    accuracy_text: "Repetida en los últimos {cutoffs} cierres de mes con solo lo que se sabía entonces, sobre {count} facturas cobradas después: las fechas de cobro previstas se desviaron {model} días de media; la fecha de vencimiento, {due} días; el retraso medio de cada cliente, {avg} días.",
    accuracy_compare: "Frente a la fecha de vencimiento: {due}; frente al retraso medio del cliente: {avg}.",
    pct_less: "{v} % menos error", pct_more: "{v} % más error",
    accuracy_none: "Aún no hay bastantes facturas cobradas en la historia para medir el error.",
    accuracy_note: "Error medio: los días que separan, de media, la fecha prevista de la de cobro real. Acierto tarde / a tiempo: la parte de las facturas aún no vencidas cuyo retraso se previó bien (los estudios publicados con facturas latinoamericanas llegan al 77–81 %).",
    col_method: "Método", col_mae: "Error medio (días)", col_late_acc: "Acierto tarde / a tiempo",
    m_model: "Esta previsión", m_due_date: "Fecha de vencimiento", m_customer_average: "Retraso medio del cliente",
    forecast_how: "Cómo: la fecha de cobro prevista de cada factura abierta se aprende de la historia de pagos de su cliente (de clientes parecidos si tiene poca) y se combina con su retraso medio; una promesa pendiente de un cliente que las cumple fija la fecha. El saldo de cada factura cuenta en la semana de su fecha prevista.",
  },
};

let current = (navigator.language || "en").toLowerCase().startsWith("es") ? "es" : "en";

export function setLocale(locale) {
  current = locale === "es" ? "es" : "en";
  document.documentElement.lang = current;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const tabs = document.getElementById("tabs");
  if (tabs) tabs.setAttribute("aria-label", current === "es" ? "Secciones" : "Sections");
}

export function locale() { return current; }

export function t(key, vars = {}) {
  const text = (STRINGS[current] && STRINGS[current][key]) || STRINGS.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

// An exact decimal string ("-1234.5", "1500") in the locale's way ("-1.234,50" in es), without floats.
export function formatAmount(text, currency = "") {
  if (text === null || text === undefined || text === "") return "";
  const s = String(text).trim();
  const neg = s.startsWith("-");
  const [int, frac] = s.replace(/^[-+]/, "").split(".");
  const group = current === "es" ? "." : ",";
  const dec = current === "es" ? "," : ".";
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, group);
  const out = (neg ? "-" : "") + grouped + (frac ? dec + frac : "");
  return currency ? `${out} ${currency}` : out;
}

export function formatDate(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.slice(0, 10).split("-");
  return current === "es" ? `${d}/${m}/${y}` : `${y}-${m}-${d}`;
}

export function totalsText(totals) {
  const parts = Object.entries(totals || {}).map(([cur, v]) => formatAmount(v, cur));
  return parts.length ? parts.join("; ") : formatAmount("0");
}
