// The POS page: the waiter's screens, the connection banner and the page's
// own replay loop (Background Sync replays too, where the browser has it).
import * as db from './db.js';
import { ulid } from './ulid.js';
import * as sync from './sync.js';

const $ = (id) => document.getElementById(id);
const state = {
  token: null,
  menu: [],
  orders: [],
  queue: [],
  current: null, // {localId|null, tableName, lines: [...], selected}
  online: navigator.onLine,
  lastProbe: 0,
};

// ---------- helpers

const money = (n) => (Math.round(n * 100) / 100).toLocaleString('en-US');
const total = (lines) => lines.reduce((sum, l) => sum + (l.price || 0) * l.quantity, 0);
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'onclick') e.onclick = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

let messageTimer = 0;
function say(text, kind = 'error') {
  const m = $('message');
  m.textContent = text;
  m.className = kind;
  m.hidden = false;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => { m.hidden = true; }, kind === 'error' ? 15000 : 5000);
}

// A table as the server wants it: "7" or "Table 7" is table-7.
function tableId(name) {
  const t = name.trim();
  const m = /^(?:table\s*)?(\d+)$/i.exec(t);
  return m ? `table-${m[1]}` : t;
}

function connectionState() {
  if (!navigator.onLine) return 'offline';
  if (!sync.connection.reachable) return 'reconnecting';
  return 'online';
}

// ---------- token

async function loadToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('token')) {
    // Handed in the fragment (never sent to the server): stored, then removed.
    await db.put('kv', hash.get('token').trim(), 'token');
    history.replaceState(null, '', location.pathname + location.search);
  }
  state.token = await db.get('kv', 'token');
}

function showTokenScreen(reason) {
  $('app').hidden = true;
  $('token-screen').hidden = false;
  if (reason) say(reason);
}

$('token-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = $('token-input').value.trim();
  if (!token) return;
  await db.put('kv', token, 'token');
  state.token = token;
  $('token-screen').hidden = true;
  $('app').hidden = false;
  await loadMenu();
  tick();
});

// ---------- menu

async function loadMenu() {
  state.menu = (await db.get('kv', 'menu')) || [];
  renderMenu();
  try {
    const r = await fetch('/pos/menu', { headers: { Authorization: `Bearer ${state.token}` } });
    if (r.status === 401 || r.status === 403) {
      const body = await r.json().catch(() => ({}));
      if (state.menu.length === 0) showTokenScreen(`The server refused this device's token: ${body.message || r.status}`);
      return;
    }
    if (!r.ok) return;
    state.menu = await r.json();
    await db.put('kv', state.menu, 'menu');
    renderMenu();
  } catch { /* offline: the cached menu stays */ }
}

function renderMenu() {
  const groups = new Map();
  for (const item of state.menu) {
    const g = item.category || item.station;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(item);
  }
  const menu = $('menu');
  menu.replaceChildren();
  if (groups.size === 0) menu.append(el('p', { text: 'No menu yet: connect once to load it.' }));
  for (const [name, items] of groups) {
    menu.append(el('h3', { text: name }));
    menu.append(el('div', { class: 'menu-group' }, ...items.map((item) =>
      el('button', { class: 'menu-item', 'data-testid': 'menu-item', 'data-name': item.name, onclick: () => addItem(item) },
        item.name, item.price != null ? el('small', { text: money(item.price) }) : null))));
  }
}

// ---------- the order being edited

function newOrder() {
  state.current = { localId: null, tableName: '', lines: [], selected: -1 };
  $('table-name').value = '';
  renderEditor();
  $('table-name').focus();
}

function openOrder(localId) {
  const order = state.orders.find((o) => o.localId === localId);
  if (!order) return;
  state.current = {
    localId,
    tableName: order.tableName,
    lines: order.items.map((i) => ({ ...i })),
    selected: -1,
  };
  $('table-name').value = order.tableName;
  renderEditor();
  renderList();
}

function currentOrder() {
  return state.current?.localId ? state.orders.find((o) => o.localId === state.current.localId) : null;
}

function addItem(item) {
  if (!state.current) newOrder();
  const order = currentOrder();
  if (order && (order.localStatus === 'CLOSED' || order.localStatus === 'CANCELLED')) {
    say(`Order ${label(order)} is ${order.localStatus.toLowerCase()}: start a new order`);
    return;
  }
  const lines = state.current.lines;
  const same = lines.findIndex((l) => !l.sent && l.name === item.name && l.modifiers.length === 0 && !l.notes);
  if (same >= 0) {
    lines[same].quantity += 1;
    state.current.selected = same;
  } else {
    lines.push({ name: item.name, station: item.station, price: item.price ?? null, quantity: 1, modifiers: [], notes: '', sent: false });
    state.current.selected = lines.length - 1;
  }
  renderEditor();
}

function renderEditor() {
  const cur = state.current;
  const order = currentOrder();
  $('editor-title').textContent = !cur ? 'Tap “New order” or a menu item'
    : order ? `Order ${label(order)} · ${order.localStatus.toLowerCase()}` : 'New order';
  const lines = $('lines');
  lines.replaceChildren();
  for (const [n, line] of (cur?.lines || []).entries()) {
    const detail = [...line.modifiers, line.notes].filter(Boolean).join(' · ');
    const li = el('li', { class: `line${line.sent ? ' sent' : ''}${n === cur.selected ? ' selected' : ''}`, 'data-testid': 'line' },
      el('span', { class: 'name', onclick: () => { if (!line.sent) { cur.selected = n; renderEditor(); } } },
        `${line.quantity} × ${line.name}`, detail ? el('small', { text: detail }) : null, line.sent ? el('small', { text: 'sent' }) : null));
    if (!line.sent) {
      li.append(
        el('button', { 'aria-label': 'one less', 'data-testid': 'qty-minus', onclick: () => { line.quantity -= 1; if (line.quantity <= 0) { cur.lines.splice(n, 1); cur.selected = -1; } renderEditor(); } }, '−'),
        el('button', { 'aria-label': 'one more', 'data-testid': 'qty-plus', onclick: () => { line.quantity = Math.min(999, line.quantity + 1); renderEditor(); } }, '+'));
    }
    lines.append(li);
  }
  const selected = cur && cur.selected >= 0 ? cur.lines[cur.selected] : null;
  $('line-edit').hidden = !selected;
  if (selected) {
    const item = state.menu.find((m) => m.name === selected.name);
    $('modifiers').replaceChildren(...(item?.modifiers || []).map((mod) =>
      el('button', { 'aria-pressed': selected.modifiers.includes(mod) ? 'true' : 'false', 'data-testid': 'modifier', onclick: () => {
        selected.modifiers = selected.modifiers.includes(mod) ? selected.modifiers.filter((x) => x !== mod) : [...selected.modifiers, mod];
        renderEditor();
      } }, mod)));
    $('line-note').value = selected.notes;
  }
  $('total').textContent = money(total(cur?.lines || []));
  renderPay();
}

$('line-note').addEventListener('input', () => {
  const cur = state.current;
  if (cur && cur.selected >= 0) cur.lines[cur.selected].notes = $('line-note').value;
});
$('table-name').addEventListener('input', () => {
  if (!state.current) state.current = { localId: null, tableName: '', lines: [], selected: -1 };
  state.current.tableName = $('table-name').value;
});

function renderPay() {
  const order = currentOrder();
  const open = order && order.localStatus !== 'CLOSED' && order.localStatus !== 'CANCELLED';
  const unsent = (state.current?.lines || []).some((l) => !l.sent);
  $('send').disabled = !state.current || !unsent;
  // Rush is chosen when the order is made (the kitchen screens' expo can change it later).
  const wasShowingOrder = $('rush').disabled;
  $('rush').disabled = Boolean(order);
  if (order) $('rush').checked = order.priority === 'RUSH';
  else if (wasShowingOrder) $('rush').checked = false;
  $('pay-cash').disabled = !open;
  $('void').disabled = !open;
  const online = connectionState() === 'online';
  const synced = order && order.serverId && outstandingFor(order.localId).length === 0;
  $('pay-card').disabled = !open || !online || !synced;
  $('pay-mobile').disabled = $('pay-card').disabled;
  $('card-reference').disabled = $('pay-card').disabled;
  $('pay-note').textContent = !open ? ''
    : !online ? 'Card and mobile money need the network (offline: cash only).'
      : !synced ? 'Card and mobile money wait until the order is synced.'
        : 'Card / mobile money: take the payment on the terminal, then enter its reference.';
  $('pay-card').title = $('pay-note').textContent;
  $('pay-mobile').title = $('pay-note').textContent;
}

// ---------- writes: every one goes to the queue first

async function queue(order, ops) {
  try {
    await sync.enqueue(order, ops);
  } catch (e) {
    if (e instanceof sync.QueueFullError) { say(e.message); return false; }
    throw e;
  }
  await registerBackgroundSync();
  await refresh();
  kick();
  return true;
}

// Create (or amend) and send to the kitchen, in one step.
async function sendOrder() {
  const cur = state.current;
  if (!cur) return;
  const unsent = cur.lines.filter((l) => !l.sent);
  if (unsent.length === 0) { say('Add items first'); return; }
  const itemsPayload = unsent.map((l) => ({
    name: l.name, station: l.station, quantity: l.quantity,
    ...(l.modifiers.length ? { modifiers: l.modifiers } : {}), ...(l.notes.trim() ? { notes: l.notes.trim() } : {}),
  }));
  let order = currentOrder();
  let ops;
  if (!order) {
    const typed = (cur.tableName || '').trim();
    const tableName = /^\d+$/.test(typed) ? `Table ${typed}` : typed;
    if (!tableName) { say('Pick or type a table first'); $('table-name').focus(); return; }
    order = {
      localId: ulid(), serverId: null, orderNumber: null, tableName, createdAt: Date.now(),
      updatedAt: null, localStatus: 'SENT', items: cur.lines.map((l) => ({ ...l })),
    };
    ops = [
      {
        operation: 'CREATE_ORDER',
        payload: {
          tableId: tableId(tableName), orderType: 'DINE_IN', items: itemsPayload,
          // Issue 14: every ticket of the order carries it (a server without it ignores it).
          ...($('rush').checked ? { priority: 'RUSH' } : {}),
        },
      },
      { operation: 'SEND_TO_KITCHEN', payload: {} },
    ];
  } else {
    if (order.localStatus === 'CLOSED' || order.localStatus === 'CANCELLED') { say('This order is closed'); return; }
    order = { ...order, items: cur.lines.map((l) => ({ ...l })), localStatus: 'SENT' };
    ops = [
      // updatedAt is filled in when it is first sent (the order as this device last saw it).
      { operation: 'MODIFY_ORDER', payload: { updatedAt: null, items: itemsPayload } },
      { operation: 'SEND_TO_KITCHEN', payload: {} },
    ];
  }
  if (await queue(order, ops)) {
    state.current = null;
    $('table-name').value = '';
    $('rush').checked = false;
    renderEditor();
    say(`Order for ${order.tableName} sent${connectionState() === 'online' ? '' : ' (saved: it goes out when the connection is back)'}`, 'info');
  }
}

async function closeOrder(method) {
  const order = currentOrder();
  if (!order) return;
  const amount = total(order.items);
  const payment = { method, amount };
  if (method !== 'CASH') {
    if (connectionState() !== 'online') { say('Card and mobile money need the network: take cash or wait'); return; }
    const reference = $('card-reference').value.trim();
    if (!reference) { say('Enter the payment terminal’s reference first'); $('card-reference').focus(); return; }
    payment.reference = reference;
  }
  const closed = { ...order, localStatus: 'CLOSED', payment };
  if (await queue(closed, [{ operation: 'CLOSE_ORDER', payload: { payment } }])) {
    $('card-reference').value = '';
    state.current = null;
    renderEditor();
  }
}

async function voidOrder() {
  const order = currentOrder();
  if (!order) return;
  if (await queue({ ...order, localStatus: 'CANCELLED' }, [{ operation: 'CANCEL_ORDER', payload: {} }])) {
    state.current = null;
    renderEditor();
  }
}

$('new-order').onclick = newOrder;
$('send').onclick = sendOrder;
$('pay-cash').onclick = () => closeOrder('CASH');
$('pay-card').onclick = () => closeOrder('CARD');
$('pay-mobile').onclick = () => closeOrder('MOBILE_MONEY');
$('void').onclick = voidOrder;

// ---------- the order list and the banner

function outstandingFor(localId) {
  return state.queue.filter((e) => e.orderLocalId === localId && e.status !== 'SUCCESS');
}

function label(order) {
  return order.orderNumber ? `#${order.orderNumber}` : 'not numbered yet';
}

// The badge of an order (docs/pos.md): failed, syncing (being sent or
// retried), pending (queued, not tried yet: "Not synced"), synced.
function badge(order) {
  const open = outstandingFor(order.localId);
  const failed = open.find((e) => e.status === 'FAILED');
  if (failed) return { sync: 'failed', text: `⚠️ Sync failed: ${failureText(failed)}`, failed };
  const n = open.length;
  const ops = `${n} operation${n === 1 ? '' : 's'} pending`;
  if (n > 0 && open.some((e) => e.status === 'REPLAYING' || e.failures > 0 || e.retryCount > 0)) {
    return { sync: 'syncing', text: `🔄 Syncing... (${ops})` };
  }
  if (n > 0) return { sync: 'pending', text: `⏳ Not synced (${ops})` };
  return { sync: 'synced', text: '✅ Synced' };
}

// A failed operation's reason, in the waiter's words where we know them.
function failureText(entry) {
  const state = entry.conflict?.currentState?.status;
  if (entry.conflict?.type === 'INVALID_STATE_TRANSITION') {
    if (state === 'CLOSED' || state === 'CANCELLED') return `Conflict: the order is already ${state === 'CLOSED' ? 'closed' : 'void'} on the server`;
    return 'Conflict: the order was changed on another device first';
  }
  return entry.errorMessage;
}

function renderList() {
  const list = $('order-list');
  const orders = [...state.orders].sort((a, b) => b.createdAt - a.createdAt);
  list.replaceChildren(...orders.map((order) => {
    const b = badge(order);
    const row = el('li', {
      class: `order${state.current?.localId === order.localId ? ' selected' : ''}`,
      'data-testid': 'order', 'data-sync': b.sync, 'data-local-id': order.localId,
      'data-order-number': order.orderNumber ?? undefined, onclick: () => openOrder(order.localId),
    },
    el('div', { class: 'top' }, el('span', { text: `Order ${order.orderNumber ? '#' + order.orderNumber : '(new)'}` }),
      el('span', { text: order.tableName }), el('span', { text: money(total(order.items)) })),
    el('div', { class: 'status', text: order.localStatus === 'CLOSED' ? `Closed · ${(order.payment?.method || '').toLowerCase().replace('_', ' ')}` : order.localStatus === 'CANCELLED' ? 'Void' : 'Open · sent' }),
    el('div', { class: 'badge', 'data-testid': 'badge', text: b.text, title: b.failed?.errorMessage }));
    if (b.failed) {
      row.append(el('div', { class: 'actions' },
        el('button', { 'data-testid': 'retry', onclick: async (e) => { e.stopPropagation(); await sync.retry(b.failed.id); await refresh(); kick(); } }, 'Retry'),
        el('button', { 'data-testid': 'discard', onclick: async (e) => { e.stopPropagation(); await sync.discard(b.failed.id); await refresh(); } }, 'Discard')));
    }
    return row;
  }));
  const tables = [...new Set(state.orders.filter((o) => o.localStatus !== 'CLOSED' && o.localStatus !== 'CANCELLED').map((o) => o.tableName))];
  $('tables').replaceChildren(...tables.map((t) => el('option', { value: t })));
}

function renderBanner() {
  const n = state.queue.filter((e) => e.status !== 'SUCCESS' && e.status !== 'FAILED').length;
  const failed = state.queue.filter((e) => e.status === 'FAILED').length;
  const queued = n ? ` (${n} operation${n === 1 ? '' : 's'} queued)` : '';
  const s = connectionState();
  const banner = $('banner');
  banner.dataset.state = s;
  let text;
  if (s === 'offline') text = `🔴 Offline - orders are saved on this device${queued}`;
  else if (s === 'reconnecting') text = `🟡 Reconnecting...${queued}`;
  else if (sync.connection.authProblem) text = `🟡 ${sync.connection.authProblem}`;
  else {
    const ago = sync.connection.lastSync ? Math.max(0, Math.round((Date.now() - sync.connection.lastSync) / 1000)) : null;
    text = `🟢 Connected${ago !== null ? ` - Last sync: ${ago} seconds ago` : ''}${queued}`;
  }
  if (failed) text += ` · ⚠️ ${failed} failed`;
  banner.textContent = text;
}

const alerted = new Set();
async function refresh() {
  [state.orders, state.queue] = await Promise.all([db.all('orders'), db.all('queue')]);
  // A newly failed operation is also announced once.
  for (const e of state.queue) {
    if (e.status !== 'FAILED' || alerted.has(e.id)) continue;
    alerted.add(e.id);
    const order = state.orders.find((o) => o.localId === e.orderLocalId);
    say(`${order ? order.tableName : 'An order'}: ${failureText(e)}`);
  }
  // The list is drawn again only when something in it changed (not every tick).
  const key = JSON.stringify([state.orders, state.queue, state.current?.localId]);
  if (key !== lastListKey) {
    lastListKey = key;
    renderList();
  }
  renderBanner();
  renderPay();
}
let lastListKey = '';

// ---------- the loop

let running = false;
let again = false;
async function tick(force = false) {
  if (running) { again = true; return; }
  running = true;
  try {
    if (state.token && navigator.onLine) {
      if (!sync.connection.reachable && Date.now() - state.lastProbe > 2000) {
        state.lastProbe = Date.now();
        try {
          const r = await fetch('/health', { cache: 'no-store' });
          if (r.ok) { sync.connection.reachable = true; force = true; }
        } catch { /* still down */ }
      }
      if (sync.connection.reachable) await sync.replay(state.token, { force });
    }
    await refresh();
  } finally {
    running = false;
    if (again) { again = false; setTimeout(() => tick(), 0); }
  }
}
const kick = () => tick();

// Asks the browser to wake the Service Worker when the network is back
// (Background Sync, where the browser has it). Awaited before the order is
// shown as queued, so closing the page right after loses no wake-up.
async function registerBackgroundSync() {
  try {
    const reg = await navigator.serviceWorker?.getRegistration();
    await reg?.sync?.register('kds-pos-replay');
  } catch (e) {
    console.warn('kds-pos: no Background Sync', e);
  }
}

window.addEventListener('online', () => { sync.connection.reachable = true; tick(true); });
window.addEventListener('offline', () => refresh());
sync.onChange(() => refresh());

// For tests and scripts: the same path the send button takes.
window.posApp = {
  async sendOrder(tableName, names) {
    state.current = { localId: null, tableName, lines: [], selected: -1 };
    for (const name of names) addItem(state.menu.find((m) => m.name === name));
    await sendOrder();
  },
  queue: () => db.all('queue'),
  orders: () => db.all('orders'),
};

async function start() {
  await loadToken();
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js', { type: 'module', scope: './' }).catch((e) => console.error('kds-pos: service worker', e));
  }
  if (!state.token) { showTokenScreen(); return; }
  $('app').hidden = false;
  await refresh();
  await loadMenu();
  renderEditor();
  await tick();
  setInterval(tick, 1000);
  // Once the Service Worker controls the page, the menu is fetched through it so it is cached there too.
  navigator.serviceWorker?.ready.then(() => {
    if (navigator.serviceWorker.controller) loadMenu();
    else navigator.serviceWorker.addEventListener('controllerchange', () => loadMenu(), { once: true });
  });
  document.body.dataset.ready = 'true';
}
start();
