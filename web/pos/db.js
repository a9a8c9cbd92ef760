// The POS's local database (IndexedDB), shared by the page and the Service
// Worker: `kv` (token, menu), `orders` (the orders this device knows, by
// local id) and `queue` (every write, in the order it was made).
const NAME = 'kds-pos';
const VERSION = 1;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let opening = null;
export function open() {
  if (!opening) {
    const req = indexedDB.open(NAME, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore('kv');
      db.createObjectStore('orders', { keyPath: 'localId' });
      const queue = db.createObjectStore('queue', { keyPath: 'id' });
      queue.createIndex('order', 'orderLocalId');
    };
    opening = request(req);
  }
  return opening;
}

// Runs `body(stores)` in one transaction and resolves with its result once
// the transaction has committed.
export async function tx(names, mode, body) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(names, mode);
    const stores = Object.fromEntries(names.map((n) => [n, t.objectStore(n)]));
    let result;
    Promise.resolve(body(stores, request)).then((r) => { result = r; }, (e) => { t.abort(); reject(e); });
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('transaction aborted'));
  });
}

export const get = (store, key) => tx([store], 'readonly', (s) => request(s[store].get(key)));
export const put = (store, value, key) =>
  tx([store], 'readwrite', (s) => request(key === undefined ? s[store].put(value) : s[store].put(value, key)));
export const del = (store, key) => tx([store], 'readwrite', (s) => request(s[store].delete(key)));
export const all = (store) => tx([store], 'readonly', (s) => request(s[store].getAll()));
