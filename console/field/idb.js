/* The page's IndexedDB: the cached day and drafts (kv), and the queues of actions, photos and positions. */
(function () {
  "use strict";

  /** Open (and on first use create) the database; resolves to a small promise-based store. */
  function openStore() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open("outfield-field", 1);
      req.onupgradeneeded = () => {
        const d = req.result;
        d.createObjectStore("kv", { keyPath: "key" });
        d.createObjectStore("actions", { keyPath: "seq", autoIncrement: true }); // seq keeps tap order
        d.createObjectStore("photos", { keyPath: "client_action_id" });
        d.createObjectStore("positions", { keyPath: "seq", autoIncrement: true });
      };
      req.onsuccess = () => resolve(wrap(req.result));
      req.onerror = () => reject(req.error);
    });
  }

  function wrap(db) {
    // Resolves when the transaction commits, so a queued action is on disk before the page says so.
    const run = (store, mode, fn) => new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      const req = fn(t.objectStore(store));
      t.oncomplete = () => resolve(req ? req.result : undefined);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error("transaction aborted"));
    });
    return {
      all: (store) => run(store, "readonly", (s) => s.getAll()),
      get: (store, key) => run(store, "readonly", (s) => s.get(key)),
      put: (store, value) => run(store, "readwrite", (s) => s.put(value)),
      del: (store, key) => run(store, "readwrite", (s) => s.delete(key)),
      delMany: (store, keys) => run(store, "readwrite", (s) => { keys.forEach((k) => s.delete(k)); return null; }),
    };
  }

  window.Field = Object.assign(window.Field || {}, { openStore: openStore });
})();
