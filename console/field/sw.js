/* The field page's service worker: the page and its last day open without a network.
 *
 * Network first everywhere (a worker should see the office's latest state whenever there is
 * signal); the cache is the fallback. Only GETs are touched: the page's POSTs go straight to the
 * network, and the page itself keeps unsent actions in IndexedDB.
 */
"use strict";

const CACHE = "outfield-field-v5";
const SHELL = "/field/static/index.html";
const FONT_CSS = ["/assets/fonts/noto-sans-sc/noto-sans-sc.css", "/assets/fonts/noto-sans-sc/noto-sans-sc-cjk.css",
                  "/assets/fonts/chinese.css"];
const CATALOGUE = "/i18n/catalogue.json"; // the office's words in the phone's language (its `lang` cookie)
const ROADS = "/field/static/basemap.geojson"; // the streets under the small map (console/assets/basemap)
const ASSETS = [SHELL, "/field/static/style.css", ...FONT_CSS, CATALOGUE, ROADS].concat(
  ["i18n", "idb", "socketio", "map", "signature", "forms", "app", "attendance"].map((name) => `/field/static/${name}.js`),
);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("outfield-field-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (req.mode === "navigate" && url.pathname.startsWith("/field/")) {
    event.respondWith(page(req));
  } else if (url.pathname.startsWith("/field/static/") || /^\/api\/v1\/field\/[^/]+\/(day|attendance)$/.test(url.pathname)
             || url.pathname === CATALOGUE || FONT_CSS.includes(url.pathname)) {
    event.respondWith(networkFirst(req));
  } else if (url.pathname.startsWith("/assets/fonts/")) {
    event.respondWith(cacheFirst(req)); // a font chunk never changes under its name
  }
});

/** The page for any link: the network's when it answers 200; otherwise the cached shell, whose
 *  script shows the day from IndexedDB, or the link's refusal reason (401/410) in words. */
async function page(req) {
  try {
    const res = await fetch(req);
    if (res.ok) {
      const cache = await caches.open(CACHE);
      await cache.put(SHELL, res.clone());
      return res;
    }
    if (res.status === 401 || res.status === 410) return (await caches.match(SHELL)) || res;
    return res;
  } catch (e) {
    const cached = await caches.match(SHELL);
    if (cached) return cached;
    throw e;
  }
}

async function networkFirst(req) {
  try {
    const res = await fetch(req);
    if (res.ok) {
      const cache = await caches.open(CACHE);
      await cache.put(req, res.clone());
    }
    return res;
  } catch (e) {
    const cached = await caches.match(req);
    if (cached) return cached;
    throw e;
  }
}

async function cacheFirst(req) {
  const cached = await caches.match(req);
  if (cached) return cached;
  const res = await fetch(req);
  if (res.ok) {
    const cache = await caches.open(CACHE);
    await cache.put(req, res.clone());
  }
  return res;
}

// Reminders sent by Web Push (realtime/web_push.py): shown as a notification; a tap opens the page.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(self.registration.showNotification(data.title || "Outfield", { body: data.body || "", tag: data.tag }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((list) => (list[0] ? list[0].focus() : undefined)));
});
