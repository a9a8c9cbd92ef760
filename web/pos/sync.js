// The offline queue and its replay, as docs/sync-contract.md describes it
// (the kiosk's queue rules, applied to the POS): every write is queued first
// with an idempotency key made once, then replayed first-in first-out per
// order. Used by the page and by the Service Worker (Background Sync).
import * as db from './db.js';
import { ulid } from './ulid.js';

export const MAX_QUEUED = 100;
export const MAX_ATTEMPTS = 10;
export const BACKOFF_SECONDS = [0, 5, 15, 45, 120];
export const MAX_AGE_MS = 23 * 3600 * 1000; // the server keeps keys for 24 hours
export const MAX_IN_FLIGHT = 5;
export const FULL_MESSAGE = 'Too many offline operations. Please connect to sync.';

const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('kds-pos') : null;
const listeners = new Set();
export function onChange(fn) { listeners.add(fn); }
function changed(detail) {
  for (const fn of listeners) fn(detail);
  channel?.postMessage(detail);
}
if (channel) channel.onmessage = (e) => { for (const fn of listeners) fn(e.data); };

export class QueueFullError extends Error {}

const outstanding = (e) => e.status !== 'SUCCESS';

// Queues `ops` ([{operation, orderLocalId, payload}]) and saves `order` in
// the same transaction: both or neither. Refused when the queue would hold
// more than MAX_QUEUED outstanding operations.
export async function enqueue(order, ops) {
  const entries = ops.map((op) => ({
    id: ulid(),
    orderLocalId: order.localId,
    operation: op.operation,
    payload: op.payload,
    idempotencyKey: ulid(),
    timestamp: Date.now(),
    retryCount: 0,
    failures: 0,
    nextAttemptAt: 0,
    status: 'PENDING',
    errorMessage: null,
  }));
  await db.tx(['queue', 'orders'], 'readwrite', async (s, req) => {
    const queued = (await req(s.queue.getAll())).filter(outstanding).length;
    if (queued + entries.length > MAX_QUEUED) throw new QueueFullError(FULL_MESSAGE);
    for (const e of entries) s.queue.put(e);
    s.orders.put(order);
  });
  changed({ type: 'queued', order: order.localId });
  return entries;
}

// Where an operation goes, once its order has a server id.
function endpoint(entry, order) {
  const id = encodeURIComponent(order.serverId || '');
  switch (entry.operation) {
    case 'CREATE_ORDER': return ['POST', '/pos/orders'];
    case 'MODIFY_ORDER': return ['PATCH', `/pos/orders/${id}`];
    case 'SEND_TO_KITCHEN': return ['POST', `/pos/orders/${id}/send-to-kitchen`];
    case 'CLOSE_ORDER': return ['POST', `/pos/orders/${id}/close`];
    case 'CANCEL_ORDER': return ['POST', `/pos/orders/${id}/cancel`];
    default: throw new Error(`unknown operation ${entry.operation}`);
  }
}

// The server's copy of an order, merged into the local one.
export function applyServerOrder(order, server) {
  if (!server || typeof server !== 'object') return order;
  order.serverId = server.id ?? order.serverId;
  order.orderNumber = server.orderNumber ?? order.orderNumber;
  order.updatedAt = server.updatedAt ?? order.updatedAt;
  order.serverStatus = server.status ?? order.serverStatus;
  if ('priority' in server || server.status) order.priority = server.priority ?? null;
  if (Array.isArray(server.items)) {
    // Sent items are the server's; unsent local ones wait in the queue.
    const sent = server.items.filter((i) => i.sent).length;
    order.items.forEach((item, n) => { if (n < sent) item.sent = true; });
  }
  return order;
}

// The state of the connection, as the last requests saw it.
export const connection = { reachable: true, authProblem: null, lastSync: 0 };

async function update(entry, fields) {
  Object.assign(entry, fields);
  await db.put('queue', entry);
}

// Sends one operation and records the outcome. Returns 'done', 'failed',
// 'retry' or 'network'.
async function send(entry, token, fetchImpl) {
  const order = await db.get('orders', entry.orderLocalId);
  if (!order) {
    await update(entry, { status: 'FAILED', errorMessage: 'The order is gone from this device' });
    return 'failed';
  }
  if (entry.operation !== 'CREATE_ORDER' && !order.serverId) {
    await update(entry, { status: 'FAILED', errorMessage: 'The order was never created on the server' });
    return 'failed';
  }
  if (entry.operation === 'MODIFY_ORDER' && !entry.payload.updatedAt) {
    // A change made before the order existed on the server: it is based on
    // the order as the create made it. Saved once, so retries send the same body.
    entry.payload.updatedAt = order.updatedAt;
  }
  const [method, path] = endpoint(entry, order);
  await update(entry, { status: 'REPLAYING', lastAttemptAt: Date.now() });
  changed({ type: 'replaying', order: order.localId });
  let response;
  try {
    response = await fetchImpl(path, {
      method,
      headers: {
        'Content-Type': 'application/json',
        'Idempotency-Key': entry.idempotencyKey,
        Authorization: `Bearer ${token}`,
      },
      body: JSON.stringify(entry.payload),
      cache: 'no-store',
    });
  } catch (error) {
    connection.reachable = false;
    const failures = entry.failures + 1;
    await update(entry, {
      status: 'PENDING', failures, errorMessage: 'No answer from the server',
      lastError: 'network', nextAttemptAt: Date.now() + backoff(failures),
    });
    return 'network';
  }
  connection.reachable = true;
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  const message = (body && body.message) || `HTTP ${response.status}`;
  const status = response.status;
  if (status >= 200 && status < 300 || (status === 409 && body?.conflictType === 'IDEMPOTENCY_DUPLICATE')) {
    connection.authProblem = null;
    connection.lastSync = Date.now();
    const server = body && body.order ? body.order : body;
    await db.tx(['orders', 'queue'], 'readwrite', async (s, req) => {
      const fresh = await req(s.orders.get(order.localId));
      if (fresh && status !== 409) {
        applyServerOrder(fresh, server);
        if (entry.operation === 'SEND_TO_KITCHEN') fresh.items.forEach((i) => { i.sent = true; });
        s.orders.put(fresh);
      }
      Object.assign(entry, { status: 'SUCCESS', errorMessage: null, doneAt: Date.now() });
      s.queue.put(entry);
    });
    return 'done';
  }
  if (status === 401 || status === 403) {
    connection.authProblem = `The server refused this device's token: ${message}`;
    await update(entry, { status: 'PENDING', errorMessage: connection.authProblem, nextAttemptAt: Date.now() + 15000 });
    return 'retry';
  }
  if (status === 429) {
    const after = Number(response.headers.get('Retry-After'));
    const wait = Number.isFinite(after) && after > 0 ? after * 1000 : backoff(entry.failures + 1);
    await update(entry, { status: 'PENDING', errorMessage: 'The server asked to slow down', nextAttemptAt: Date.now() + wait });
    return 'retry';
  }
  if (status === 408 || status >= 500) {
    const retryCount = entry.retryCount + 1;
    const failures = entry.failures + 1;
    if (retryCount >= MAX_ATTEMPTS) {
      await update(entry, { status: 'FAILED', retryCount, failures, errorMessage: `${message} (gave up after ${retryCount} attempts)` });
      return 'failed';
    }
    await update(entry, {
      status: 'PENDING', retryCount, failures, errorMessage: message,
      lastError: 'server', nextAttemptAt: Date.now() + backoff(failures),
    });
    return 'retry';
  }
  // 409 (a conflict or a fingerprint mismatch), 422 and other 4xx: the
  // operation cannot succeed as it is. The order is refreshed from the server.
  let conflict = null;
  if (status === 409) {
    conflict = { type: body?.conflictType || 'CONFLICT', currentState: body?.currentState || null };
    if (conflict.type === 'IDEMPOTENCY_FINGERPRINT_MISMATCH') {
      console.error(`kds-pos: idempotency fingerprint mismatch on ${entry.operation} ${entry.idempotencyKey} (a client bug)`);
    }
  }
  await update(entry, {
    status: 'FAILED', errorMessage: status === 409 ? `Conflict: ${message}` : message,
    httpStatus: status, conflict,
  });
  if (order.serverId) await refreshOrder(order.localId, token, fetchImpl);
  return 'failed';
}

export function backoff(failures) {
  return BACKOFF_SECONDS[Math.min(failures, BACKOFF_SECONDS.length - 1)] * 1000;
}

// Reads the server's copy of an order (after a conflict, the server wins).
export async function refreshOrder(localId, token, fetchImpl = fetch) {
  const order = await db.get('orders', localId);
  if (!order?.serverId) return;
  try {
    const r = await fetchImpl(`/pos/orders/${encodeURIComponent(order.serverId)}`, {
      headers: { Authorization: `Bearer ${token}` }, cache: 'no-store',
    });
    if (!r.ok) return;
    const server = await r.json();
    await db.tx(['orders'], 'readwrite', async (s, req) => {
      const fresh = await req(s.orders.get(localId));
      if (!fresh) return;
      applyServerOrder(fresh, server);
      fresh.tableName = server.tableName ?? fresh.tableName;
      fresh.serverItems = server.items;
      s.orders.put(fresh);
    });
  } catch { /* no answer: the local copy stays */ }
}

// One replay pass: the head of each order's queue, if due, at most
// MAX_IN_FLIGHT at once; an order's next operation goes once its head is
// done. Runs under a Web Lock so the page and the Service Worker never
// replay at the same time. Resolves with the number of outstanding operations.
// With `wait`, a pass waits for the one in progress elsewhere instead of
// skipping its turn (the Service Worker's Background Sync event).
export async function replay(token, { fetchImpl = fetch, force = false, wait = false } = {}) {
  if (!token) return countOutstanding();
  const run = async () => {
    for (;;) {
      const entries = (await db.all('queue')).sort((a, b) => (a.id < b.id ? -1 : 1));
      const now = Date.now();
      const heads = new Map();
      for (const e of entries) {
        if (!outstanding(e)) continue;
        if (!heads.has(e.orderLocalId)) heads.set(e.orderLocalId, e);
      }
      const due = [];
      for (const e of heads.values()) {
        if (e.status === 'FAILED') continue; // waits for retry or discard
        if (now - e.timestamp > MAX_AGE_MS) {
          await update(e, { status: 'FAILED', errorMessage: 'Queued for more than 23 hours' });
          continue;
        }
        if (force && e.lastError === 'network') e.nextAttemptAt = 0;
        if (e.status === 'REPLAYING' || (e.nextAttemptAt || 0) <= now) due.push(e);
      }
      if (due.length === 0) break;
      const batch = due.slice(0, MAX_IN_FLIGHT);
      const results = await Promise.all(batch.map((e) => send(e, token, fetchImpl)));
      changed({ type: 'replayed' });
      if (results.includes('network')) break; // the connection is down: wait
      if (!results.includes('done')) break;
      force = false;
    }
    await prune();
  };
  if (typeof navigator !== 'undefined' && navigator.locks) {
    await navigator.locks.request('kds-pos-replay', wait ? {} : { ifAvailable: true }, async (lock) => {
      if (lock) await run();
    });
  } else {
    await run();
  }
  return countOutstanding();
}

// Successful operations are kept an hour, then forgotten; closed and void
// orders with nothing queued leave the list after 24 hours.
async function prune() {
  const old = Date.now() - 3600 * 1000;
  const day = Date.now() - 24 * 3600 * 1000;
  await db.tx(['queue', 'orders'], 'readwrite', async (s, req) => {
    const entries = await req(s.queue.getAll());
    for (const e of entries) {
      if (e.status === 'SUCCESS' && e.doneAt < old) s.queue.delete(e.id);
    }
    const busy = new Set(entries.filter(outstanding).map((e) => e.orderLocalId));
    for (const o of await req(s.orders.getAll())) {
      const done = o.localStatus === 'CLOSED' || o.localStatus === 'CANCELLED';
      if (done && !busy.has(o.localId) && o.createdAt < day) s.orders.delete(o.localId);
    }
  });
}

export async function countOutstanding() {
  return (await db.all('queue')).filter(outstanding).length;
}

// A failed operation tried again (and the order's later ones with it).
export async function retry(entryId) {
  const e = await db.get('queue', entryId);
  if (!e || e.status !== 'FAILED') return;
  const fields = { status: 'PENDING', retryCount: 0, failures: 0, nextAttemptAt: 0, errorMessage: null, conflict: null };
  if (e.operation === 'MODIFY_ORDER' && e.httpStatus === 409) {
    // A stale change tried again is applied to the order as the server has it
    // now: a new operation, with a new key.
    fields.payload = { ...e.payload, updatedAt: null };
    fields.idempotencyKey = ulid();
  }
  await update(e, fields);
  changed({ type: 'retry', order: e.orderLocalId });
}

// A failed operation dropped, with the order's later ones (they depended on
// it). The order keeps the server's state.
export async function discard(entryId) {
  const e = await db.get('queue', entryId);
  if (!e) return;
  await db.tx(['queue', 'orders'], 'readwrite', async (s, req) => {
    const rest = await req(s.queue.index('order').getAll(e.orderLocalId));
    for (const later of rest) {
      if (later.id >= e.id && outstanding(later)) s.queue.delete(later.id);
    }
    const order = await req(s.orders.get(e.orderLocalId));
    if (order && !order.serverId && e.operation === 'CREATE_ORDER') s.orders.delete(order.localId);
    else if (order) {
      // Local changes not on the server are dropped: the server's copy wins.
      if (Array.isArray(order.serverItems)) {
        const prices = Object.fromEntries(order.items.map((i) => [i.name, i.price]));
        order.items = order.serverItems.map((i) => ({
          name: i.name, station: i.station, quantity: i.quantity, modifiers: i.modifiers || [],
          notes: i.notes || '', price: prices[i.name] ?? null, sent: !!i.sent,
        }));
      } else {
        order.items = order.items.filter((i) => i.sent);
      }
      order.localStatus = order.serverStatus || order.localStatus;
      s.orders.put(order);
    }
  });
  changed({ type: 'discard', order: e.orderLocalId });
}
