// The POS's Service Worker: the app shell and the menu from the cache when
// there is no network, and Background Sync replays of the queue.
import * as db from './db.js';
import { replay, connection } from './sync.js';

const CACHE = 'kds-pos-v1';
const SHELL = ['./', 'index.html', 'style.css', 'app.js', 'db.js', 'sync.js', 'ulid.js', 'manifest.webmanifest', 'icon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname === '/pos/menu') {
    // The menu: the network's copy when there is one, else the last one.
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      try {
        const r = await fetch(event.request);
        if (r.ok) await cache.put('/pos/menu', r.clone());
        return r;
      } catch (e) {
        const cached = await cache.match('/pos/menu');
        if (cached) return cached;
        throw e;
      }
    })());
    return;
  }
  const scope = new URL('./', self.registration.scope).pathname;
  const name = url.pathname === scope ? './' : url.pathname.slice(scope.length);
  if (!url.pathname.startsWith(scope) || !SHELL.includes(name)) return;
  // The shell: the cached copy at once, refreshed from the network behind it.
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const cached = await cache.match(name === './' ? scope : url.pathname);
    const network = fetch(event.request).then(async (r) => {
      if (r.ok) await cache.put(name === './' ? scope : url.pathname, r.clone());
      return r;
    });
    if (cached) {
      event.waitUntil(network.catch(() => {}));
      return cached;
    }
    return network;
  })());
});

self.addEventListener('sync', (event) => {
  if (event.tag === 'kds-pos-replay') event.waitUntil(syncQueue());
});

// The browser says the network is back: replay now. A network that has just
// come back may take a moment to carry requests, so a replay that finds no
// server is tried again a few times within the event; after that the browser
// fires the event again later. It waits for a replay in progress (the page's,
// or a closing page's) rather than skipping its turn.
async function syncQueue() {
  const token = await db.get('kv', 'token');
  for (const delay of [0, 1000, 3000, 8000]) {
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    const left = await replay(token, { force: true, wait: true });
    if (left === 0 || connection.reachable) return;
  }
  throw new Error('operations still queued: no server');
}
