// The add-in's own words (ribbon actions, dialogs), Spanish and English; the ledger's locale chooses, else Office's.
export const STRINGS = {
  en: {
    nothing: "Nothing to send today.",
    confirm: "Send {count} reminders ({emails} e-mails) for {total}?",
    send: "Send", cancel: "Cancel", ok: "OK",
    sent: "{sent} sent, {failed} failed; {logged} contacts written to {sheet}.",
    preview: "{count} reminders due today ({emails} e-mails) for {total}.",
    cancelled: "Nothing was sent.",
    no_token: "Open Cobro (Cobro tab) and sign in with the ledger's API token first.",
    error: "cobro: {message}",
    problem: "{sheet} row {row}, {column}: {message}",
    not_applied: "The reminders were sent but the workbook could not be updated ({message}); the next Send writes the contacts (the send journal keeps them).",
  },
  es: {
    nothing: "Hoy no hay nada que enviar.",
    confirm: "¿Enviar {count} recordatorios ({emails} emails) por {total}?",
    send: "Enviar", cancel: "Cancelar", ok: "Aceptar",
    sent: "{sent} enviados, {failed} fallidos; {logged} gestiones escritas en {sheet}.",
    preview: "Hoy tocan {count} recordatorios ({emails} emails) por {total}.",
    cancelled: "No se ha enviado nada.",
    no_token: "Abra Cobro (pestaña Cobro) e inicie sesión con el token de la API del libro primero.",
    error: "cobro: {message}",
    problem: "{sheet} fila {row}, {column}: {message}",
    not_applied: "Los recordatorios se enviaron pero no se pudo actualizar el libro ({message}); el próximo Enviar escribe las gestiones (el diario de envíos las guarda).",
  },
};

export function pickLocale(...candidates) {
  for (const c of candidates) {
    const l = String(c || "").slice(0, 2).toLowerCase();
    if (l === "es" || l === "en") return l;
  }
  return "en";
}

export function tr(locale, key, vars = {}) {
  const text = (STRINGS[locale] || STRINGS.en)[key] || STRINGS.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}
