// Apps Script (addin/gsheets/Code.gs) under Node's test runner. The menu and pure parts run always; the calls to
// the real service run when tests/test_apps_script.py starts one (COBRO_URL, COBRO_TOKEN).
import test from 'node:test';
import assert from 'node:assert/strict';
import { makeContext, plain } from './gas_standins.mjs';

const URL_ = process.env.COBRO_URL || '';
const TOKEN = process.env.COBRO_TOKEN || '';
const live = URL_ && TOKEN ? test : test.skip;

test('the Cobro menu, in Spanish and in English', () => {
  for (const [locale, send, settings] of [['es_ES', 'Enviar recordatorios', 'Configuración'],
    ['en_US', 'Send reminders', 'Settings']]) {
    const { context, ui } = makeContext({ locale });
    context.onOpen();
    assert.equal(ui.menus.length, 1);
    const menu = ui.menus[0];
    assert.equal(menu.title, 'Cobro');
    assert.deepEqual(plain(menu.items.map((i) => i.fn || (i.separator ? '-' : '?'))),
      ['cobroSend', 'cobroPreview', 'cobroReconcile', 'cobroOpen', '-', 'cobroSettings']);
    assert.equal(menu.items[0].caption, send);
    assert.equal(menu.items[5].caption, settings);
    for (const item of menu.items) if (item.fn) assert.equal(typeof context[item.fn], 'function', item.fn);
  }
});

test('settings are kept in PropertiesService, never in a cell; only https addresses', () => {
  const { context, ui, props } = makeContext({ prompts: [['OK', 'http://evil.example'], ] });
  context.cobroSettings();
  assert.match(ui.alerts.at(-1).message, /https:\/\//);
  assert.equal(props.COBRO_URL, undefined);
  const ok = makeContext({ prompts: [['OK', 'https://cobro.example.com/'], ['OK', ' tok123 ']] });
  ok.context.cobroSettings();
  assert.equal(ok.props.COBRO_URL, 'https://cobro.example.com');
  assert.equal(ok.props.COBRO_TOKEN, 'tok123');
});

test('without settings the menu says what to do instead of failing', () => {
  const { context, ui } = makeContext({ locale: 'en_US' });
  context.cobroSend();
  assert.match(ui.alerts[0].message, /Settings/);
});

test('totals per currency are added exactly and never across currencies', () => {
  const { context } = makeContext({ locale: 'es_ES' });
  const total = context.cobroTotals_([{ totals: { EUR: '0.10' } }, { totals: { EUR: '0.20', USD: '1234.50' } },
    { totals: { CLP: '1234567' } }]);
  assert.equal(total, '1.234.567 CLP + 0,30 EUR + 1.234,50 USD');
});

test('the page opens in the sidebar with the token in the fragment, escaped', () => {
  const { context, ui } = makeContext({ props: { COBRO_URL: 'https://c.example', COBRO_TOKEN: 'a"b' } });
  context.cobroReconcile();
  assert.match(ui.sidebars[0].html, /src="https:\/\/c\.example\/\?view=reconcile#token=a%22b"/);
});

live('a bad token shows the 401 message', () => {
  const { context, ui } = makeContext({ locale: 'en_US', props: { COBRO_URL: URL_, COBRO_TOKEN: 'wrong' } });
  context.cobroPreview();
  assert.match(ui.alerts[0].message, /401/);
});

live('COBRO_AGING and COBRO_KPIS return numbers from the service', () => {
  const { context } = makeContext({ props: { COBRO_URL: URL_, COBRO_TOKEN: TOKEN } });
  const aging = plain(context.COBRO_AGING(process.env.COBRO_AS_OF));
  assert.equal(aging[0][0], 'customer_id');
  assert.ok(aging.length > 1);
  assert.equal(typeof aging[1][2], 'number');
  const kpis = plain(context.COBRO_KPIS(process.env.COBRO_AS_OF, 3));
  assert.equal(kpis[0][1], 'dso');
  assert.ok(kpis.length > 1);
});

live('Send: preview, confirm count and total, the service sends and logs', () => {
  const { context, ui } = makeContext({ locale: 'es_ES', props: { COBRO_URL: URL_, COBRO_TOKEN: TOKEN },
    answers: ['YES'] });
  const result = plain(context.cobroSend());
  const confirm = ui.alerts.find((a) => a.buttons === 'YES_NO');
  assert.ok(confirm, JSON.stringify(ui.alerts));
  assert.match(confirm.message, /Se enviarán \d+ recordatorio\(s\) por un total de .+\. ¿Enviar ahora\?/);
  assert.ok(result.ok, JSON.stringify(result));
  assert.match(ui.alerts.at(-1).message, /Enviados: [1-9]\d*\./);
  process.stdout.write(`SENT ${JSON.stringify(result.body.logged_contacts)}\n`);
});

live('a send while another run holds the ledger shows the 409 message', () => {
  if (!process.env.COBRO_BUSY_URL) return;
  const { context, ui } = makeContext({ locale: 'en_US', props: { COBRO_URL: process.env.COBRO_BUSY_URL,
    COBRO_TOKEN: TOKEN }, answers: ['YES'] });
  context.cobroSend();
  assert.match(ui.alerts.at(-1).message, /409/);
});
