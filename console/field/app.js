/* The field worker's day, opened from a push link. Plain JS, no build step, no network libraries.
 *
 * Everything the worker does is first written to IndexedDB with a client-generated id and the time
 * of the tap, then sent by one sync loop when the network allows. The server answers each id once
 * ("duplicate" on a replay), so sending the queue twice never does anything twice, and the times
 * the office sees are the phone's. The day's orders are cached too, so the page opens offline.
 */
(function () {
  "use strict";

  const TOKEN = decodeURIComponent(location.pathname.replace(/^\/field\//, "").split("/")[0] || "");
  const API = "/api/v1/field/" + encodeURIComponent(TOKEN);
  const DAY_KEY = "day:" + TOKEN;
  const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
  const MAX_PHOTO_BYTES = 7.5 * 1024 * 1024; // the server takes 8 MiB; leave room for the form
  const BATCH = 100;
  const POSITION_EVERY_MS = 15000;
  const MAX_QUEUED_POSITIONS = 2000;
  const KNOTS_PER_MPS = 1.943844; // /positions reads `speed` in knots, as OsmAnd clients send it
  const NEXT_STATUS = {
    accept: "accepted", decline: "declined", en_route: "en_route",
    check_in: "on_site", check_out: "done", fail: "failed",
  };
  const _ = (message, params) => window.Field.t(message, params); // field/i18n.js: the office's catalogue
  const N_ = (message) => message; // marks words for the catalogue; _() translates them where shown
  const ACTION_ENGLISH = {
    accept: N_("Accept"), decline: N_("Decline"), en_route: N_("On my way"), check_in: N_("Check-in"),
    check_out: N_("Check-out"), fail: N_("Could not do it"), report: N_("Service report"),
    clock_in: N_("Clock-in"), clock_out: N_("Clock-out"), late_entry: N_("Late entry"), day_report: N_("Day's report"),
  };
  const STATUS_ENGLISH = {
    new: N_("New"), assigned: N_("New for you"), accepted: N_("Accepted"), en_route: N_("On my way"), on_site: N_("On site"),
    done: N_("Done"), declined: N_("Declined"), failed: N_("Not done"), cancelled: N_("Cancelled"),
  };
  const inLanguage = (words) => new Proxy(words, { get: (w, k) => (k in w ? _(w[k]) : undefined) });
  const ACTION_WORDS = inLanguage(ACTION_ENGLISH);
  const STATUS_WORDS = inLanguage(STATUS_ENGLISH);
  const VERDICT_WORDS = inLanguage({ // dispatch/checkin.py's verdicts (the reason comes in the phone's language)
    verified: N_("verified"), outside_geofence: N_("outside geofence"), poor_accuracy: N_("poor accuracy"),
    no_location: N_("no location"), early: N_("early"), late: N_("late"),
  });

  const $ = (sel, root) => (root || document).querySelector(sel);
  const state = {
    day: null, // the last /day answer (from the server or the cache)
    workerId: workerIdOfToken(TOKEN),
    actions: [], // queued actions of this worker, in tap order
    photos: [], // queued photos (metadata only; the Blobs stay in IndexedDB)
    positions: 0, // queued positions
    verdicts: {}, // order id → last check-in/out verdict from the server
    photosSent: [], // photos sent from this page: {order_id, photo_id}, counted unless the day shown lists them
    refused: null, // why the link no longer opens the day
    reachable: true, // the last request reached the server
    position: null, // the worker's last known fix {lat, lon, accuracy_m, at}
    sharing: false,
    socketUp: false,
    roads: null, // the streets under the small map (GeoJSON features), once read
  };
  const busy = new Map(); // order id → what is being done for it right now (buttons are disabled meanwhile)
  const cards = new Map(); // order id → card element (kept, so that half-filled forms survive a refresh)
  let db = null; // Field.openStore()'s store, null when the browser gives no IndexedDB

  // ---------------------------------------------------------------- IndexedDB (idb.js)

  const noStore = () => Promise.reject(new Error("storage unavailable"));
  const idbAll = (store) => (db ? db.all(store) : noStore());
  const idbGet = (store, key) => (db ? db.get(store, key) : noStore());
  const idbPut = (store, value) => (db ? db.put(store, value) : noStore());
  const idbDelete = (store, key) => (db ? db.del(store, key) : noStore());

  async function loadQueues() {
    if (!db) return;
    const mine = (x) => x.worker_id === state.workerId;
    state.actions = (await idbAll("actions")).filter(mine);
    state.photos = (await idbAll("photos")).filter(mine).map((p) => ({ ...p, blob: undefined }));
    state.positions = (await idbAll("positions")).filter(mine).length;
    const verdicts = await idbGet("kv", "verdicts:" + state.workerId);
    state.verdicts = verdicts ? verdicts.verdicts : {};
  }

  // ---------------------------------------------------------------- small helpers

  function workerIdOfToken(token) {
    // The token is itsdangerous' base64url(JSON).signature; the page only reads the worker id from
    // it to key the offline queue (the server checks the signature on every call).
    try {
      const b64 = token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
      const w = JSON.parse(atob(b64 + "===".slice((b64.length + 3) % 4))).w;
      return Number.isInteger(w) ? w : null;
    } catch (e) {
      return null;
    }
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // crypto.randomUUID needs a secure context; getRandomValues does not.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.append(c);
    return e;
  }

  function hhmm(iso) {
    return window.Field.i18n.clock(iso); // the office's clock, as the dispatcher reads it
  }

  function windowText(o) {
    const i18n = window.Field.i18n;
    const sameDay = i18n.localDay(o.window_start) === i18n.localDay(new Date().toISOString());
    const date = sameDay ? "" : i18n.localDay(o.window_start) + " ";
    const zone = o.window_zone || i18n.zoneName(o.window_start); // the server's name for it, as the console shows
    return `${date}${hhmm(o.window_start)}–${hhmm(o.window_end)} ${zone} · ` + _("about {minutes} min", { minutes: o.service_minutes });
  }

  function orderById(id) {
    return state.day ? state.day.orders.find((o) => o.id === id) : undefined;
  }

  function orderName(id) {
    const o = orderById(id);
    return o ? `${o.site.name} (#${id})` : _("order #{id}", { id: id });
  }

  /** The status the worker sees: the server's, moved on by what is still waiting in the queue. */
  function shownStatus(order) {
    let status = order.status;
    for (const a of state.actions) {
      if (a.order_id !== order.id) continue;
      if (NEXT_STATUS[a.action]) status = NEXT_STATUS[a.action];
      // A late entry brings the order to where the missed step would have (the office does the same).
      else if (a.action === "late_entry" && a.kind === "in" && ["assigned", "accepted", "en_route"].includes(status)) status = "on_site";
      else if (a.action === "late_entry" && a.kind === "out" && status === "on_site") status = "done";
    }
    return status;
  }

  function notice(text, kind) {
    const li = el("li", { class: "notice notice-" + (kind || "info") }, [
      el("span", { text: text }),
      el("button", { type: "button", class: "btn btn-small", text: _("OK"), "aria-label": _("Dismiss") }),
    ]);
    li.querySelector("button").addEventListener("click", () => li.remove());
    $("#notices").prepend(li);
  }

  function showBanner(text) {
    $("#banner-text").textContent = text;
    $("#banner").hidden = false;
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
    if ("Notification" in window && Notification.permission === "granted" && navigator.serviceWorker) {
      navigator.serviceWorker.ready.then((r) => r.showNotification("Outfield", { body: text, tag: "assignment" })).catch(() => {});
    }
  }

  // ---------------------------------------------------------------- rendering

  function render() {
    renderStatusLine();
    if (state.refused) {
      $("#link-refused-reason").textContent = state.refused;
      $("#link-refused").hidden = false;
      $("#app").hidden = true;
      $("#worker-name").textContent = "Outfield";
      $("#day-label").textContent = "";
      for (const c of cards.values()) c.remove();
      cards.clear();
      state.day = null;
      return;
    }
    const day = state.day;
    if (!day) {
      $("#empty").hidden = false;
      $("#empty").textContent = navigator.onLine ? _("Loading your day…") : _("You are offline and this day has not been opened on this phone yet.");
      return;
    }
    $("#worker-name").textContent = day.worker.name;
    $("#day-label").textContent = new Date(day.day + "T12:00:00").toLocaleDateString(document.documentElement.lang || [], { weekday: "long", day: "numeric", month: "long" });
    $("#empty").hidden = day.orders.length > 0;
    $("#empty").textContent = _("No orders for today.");
    const list = $("#orders");
    const keep = new Set(day.orders.map((o) => o.id));
    for (const [id, card] of cards) if (!keep.has(id)) { card.remove(); cards.delete(id); }
    day.orders.forEach((o, i) => {
      let card = cards.get(o.id);
      if (!card) { card = makeCard(o); cards.set(o.id, card); }
      // Into route order without rebuilding it; a card already in place is left alone, since moving it
      // would take the focus from a field the worker is typing in (the text typed next would be lost).
      if (list.children[i] !== card) list.insertBefore(card, list.children[i] || null);
      updateCard(card, o, i + 1);
    });
    drawMap();
    for (const hook of window.outfieldField.onRender) hook();
  }

  function renderStatusLine() {
    const net = $("#net");
    const online = navigator.onLine && state.reachable;
    net.className = "net " + (online ? "net-online" : "net-offline");
    net.textContent = online ? _("Online") : navigator.onLine ? _("No connection to the office") : _("Offline");
    const n = state.actions.length, p = state.photos.length;
    const parts = [];
    if (n) parts.push(n === 1 ? _("1 action") : _("{n} actions", { n: n }));
    if (p) parts.push(p === 1 ? _("1 photo") : _("{n} photos", { n: p }));
    const q = $("#queue");
    q.dataset.actions = String(n);
    q.dataset.photos = String(p);
    q.className = "queue " + (parts.length ? "queue-waiting" : "queue-clear");
    const and = _(" and ");
    q.textContent = parts.length ? _("{what} waiting to sync", { what: parts.join(and) }) : _("Everything is synced");
  }

  function makeCard(order) {
    const card = $("#order-template").content.firstElementChild.cloneNode(true);
    window.Field.i18n.apply(card);
    card.dataset.orderId = String(order.id);
    card.id = "order-" + order.id;
    card.querySelector(".site-name").textContent = order.site.name;
    card.querySelector(".address").textContent = order.site.address || "";
    card.querySelector(".nav-geo").href = order.navigation.geo;
    card.querySelector(".nav-osm").href = order.navigation.osm;
    // The form of the order type as the day brought it: kept with the card, so a report is answered and
    // sent against this version even when the office saves a newer one meanwhile (offline for hours).
    card.form = order.form || null;
    card.formView = card.form
      ? Field.renderForm(card.querySelector(".form-fields"), card.form, {
        photo: (file) => queuePhoto(order.id, file),
        changed: () => { card.reportDirty = true; saveDraftSoon(card, order.id); },
      })
      : null;
    card.querySelector(".form-fields").hidden = !card.formView;
    card.querySelector(".reason-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const form = ev.currentTarget;
      const reason = form.querySelector(".reason").value.trim();
      if (!reason) return;
      form.hidden = true;
      queueAction(order.id, form.dataset.action, { reason: reason });
      form.querySelector(".reason").value = "";
    });
    card.querySelector(".reason-cancel").addEventListener("click", () => { card.querySelector(".reason-form").hidden = true; });
    card.querySelector(".photo-input").addEventListener("change", (ev) => {
      const files = Array.from(ev.target.files || []);
      ev.target.value = "";
      files.forEach((f) => queuePhoto(order.id, f));
    });
    card.querySelector(".add-part").addEventListener("click", () => { addPartRow(card, "", 1); saveDraftSoon(card, order.id); });
    const report = card.querySelector(".report");
    report.addEventListener("input", () => { card.reportDirty = true; saveDraftSoon(card, order.id); });
    report.addEventListener("submit", (ev) => { ev.preventDefault(); saveReport(card, order.id); });
    setupSignature(card, order.id);
    restoreDraft(card, order);
    return card;
  }

  function updateCard(card, order, stopNo) {
    const status = shownStatus(order);
    card.className = "order order-" + status;
    card.dataset.status = status;
    card.querySelector(".stop-no").textContent = String(stopNo);
    const badge = card.querySelector(".badge");
    badge.textContent = STATUS_WORDS[status] || status;
    badge.className = "badge badge-" + status;
    card.querySelector(".window").textContent = windowText(order);
    card.querySelector(".job").textContent = _(order.type) + (order.priority <= 2 ? " · " + _("priority {n}", { n: order.priority }) : "");
    card.querySelector(".notes").textContent = order.notes || "—";

    const verdict = state.verdicts[order.id];
    const v = card.querySelector(".verdict");
    v.hidden = !verdict;
    if (verdict) {
      v.className = "verdict verdict-" + verdict.verdict;
      const word = VERDICT_WORDS[verdict.verdict] || verdict.verdict.replace(/_/g, " ");
      v.textContent = _("{verdict}: {reason}", { verdict: ACTION_WORDS[verdict.action], reason: word }) + (verdict.reason ? " — " + verdict.reason : "");
    }
    const waiting = state.actions.filter((a) => a.order_id === order.id).length;
    const pending = card.querySelector(".pending");
    pending.hidden = !waiting && !busy.has(order.id);
    pending.textContent = busy.has(order.id) ? busy.get(order.id)
      : waiting ? _(waiting === 1 ? N_("{n} change saved on this phone, waiting to sync") : N_("{n} changes saved on this phone, waiting to sync"), { n: waiting })
      : "";

    const final = !["assigned", "accepted", "en_route", "on_site"].includes(status);
    card.querySelector(".nav-links").hidden = final;
    const summary = card.querySelector(".summary");
    const listed = new Set(order.photo_ids || []);
    const photoCount = (order.photos || 0) + state.photosSent.filter((p) => p.order_id === order.id && !listed.has(p.photo_id)).length;
    summary.hidden = !final || !(order.report || photoCount);
    summary.textContent = [order.report ? _("Report sent") : "", photoCount ? photosSent(photoCount) : ""]
      .filter(Boolean).join(" · ");
    const actions = card.querySelector(".actions");
    actions.replaceChildren(...buttonsFor(order, status, card));
    const returned = !!(order.report && order.report.status === "returned") && !reportQueued(order.id);
    const note = card.querySelector(".report-returned");
    note.hidden = !returned;
    note.textContent = returned ? _("Returned by the office: {note}", { note: order.report.review_note }) : "";
    // A returned report is edited and sent again, also after the check-out.
    card.querySelector(".onsite").hidden = status !== "on_site" && !returned;
    if (status !== "on_site" && status !== "en_route" && status !== "accepted" && status !== "assigned") {
      card.querySelector(".reason-form").hidden = true;
    }
    const sent = photoCount;
    const queued = state.photos.filter((p) => p.order_id === order.id).length;
    card.querySelector(".photo-state").textContent =
      photosSent(sent) + (queued ? _(", {n} waiting to sync", { n: queued }) : "");
    card.querySelector(".report-state").textContent = reportQueued(order.id)
      ? _("Report saved on this phone, waiting to sync.")
      : order.report ? reportStateText(order.report) : "";
  }

  function reportQueued(orderId) {
    return state.actions.some((a) => a.order_id === orderId && a.action === "report");
  }

  function reportStateText(report) {
    const written = { written: _("written {time}", { time: hhmm(report.written_at) }) };
    switch (report.status) {
      case "pending_approval": return _("Report received by the office ({written}), waiting for approval.", written);
      case "approved": return _("Report approved by the office ({written}).", written);
      case "returned": return _("Report returned by the office: change it and save it again.");
      default: return _("Report received by the office ({written}).", written);
    }
  }

  function photosSent(n) {
    return _(n === 1 ? N_("{n} photo sent") : N_("{n} photos sent"), { n: n });
  }

  function buttonsFor(order, status, card) {
    const button = (action, label, kind) => {
      const b = el("button", { type: "button", class: `btn btn-${kind} act-${action}`, text: label });
      if (busy.has(order.id)) b.disabled = true;
      b.addEventListener("click", () => onAction(order, action, card));
      return b;
    };
    switch (status) {
      case "assigned": return [button("accept", _("Accept"), "go"), button("decline", _("Decline…"), "danger")];
      case "accepted": return [button("en_route", _("On my way"), "go"), button("decline", _("Decline…"), "danger")];
      case "en_route": return [button("check_in", _("Check in (I am here)"), "go"), button("fail", _("Could not do it…"), "danger")];
      case "on_site": return [button("check_out", _("Check out (job finished)"), "go"), button("fail", _("Could not finish…"), "danger")];
      default: return [el("p", { class: "final", text: STATUS_WORDS[status] || status })];
    }
  }

  async function onAction(order, action, card) {
    if (busy.has(order.id)) return; // a double tap must not queue the same step twice
    if (action === "decline" || action === "fail") {
      const form = card.querySelector(".reason-form");
      form.dataset.action = action;
      form.querySelector(".reason-label").textContent = action === "decline" ? _("Why can't you take this order?") : _("What stopped the job?");
      form.hidden = false;
      form.querySelector(".reason").focus();
      return;
    }
    busy.set(order.id, "Saving…");
    try {
      if (action === "check_in" || action === "check_out") await checkInOrOut(order, action, card);
      else await queueAction(order.id, action, {});
    } finally {
      busy.delete(order.id);
      render();
    }
  }

  // ---------------------------------------------------------------- the small map

  function drawMap() {
    const orders = state.day ? state.day.orders : [];
    const stops = orders.map((o) => ({ lat: o.site.lat, lon: o.site.lon, status: shownStatus(o), label: o.site.name }));
    const route = state.day && state.day.route ? state.day.route : null;
    Field.drawStops($("#map"), stops, state.position, (i) => {
      cards.get(orders[i].id).scrollIntoView({ behavior: "smooth", block: "start" });
    }, route, state.roads);
    $("#map-note").textContent = state.position ? _("You: ±{acc} m, {time}", { acc: Math.round(state.position.accuracy_m || 0), time: hhmm(state.position.at) }) : "";
  }

  // The streets to draw under the stops: read once (the service worker keeps them for offline use); without them
  // the map shows the stops alone, as before.
  async function loadRoads() {
    try {
      const res = await fetch("/field/static/basemap.geojson");
      if (!res.ok) return;
      const data = await res.json();
      if (data && Array.isArray(data.features)) {
        state.roads = data.features;
        drawMap();
      }
    } catch (e) { /* offline and never read: no streets */ }
  }

  // ---------------------------------------------------------------- the queue

  async function queueAction(orderId, action, extra) {
    const entry = {
      client_action_id: newId(),
      worker_id: state.workerId,
      order_id: orderId,
      action: action,
      at: new Date().toISOString(), // when the worker tapped: the server keeps this time
      ...extra,
    };
    try {
      entry.seq = await idbPut("actions", entry);
    } catch (e) {
      notice(_("Could not save \"{action}\" on this phone ({reason}): keep this page open until it is synced.", { action: ACTION_WORDS[action], reason: e.message }), "error");
    }
    state.actions.push(entry);
    render();
    syncSoon();
    return entry;
  }

  async function queuePhoto(orderId, file) {
    let blob = file;
    if (!PHOTO_TYPES.includes(file.type) || file.size > MAX_PHOTO_BYTES) blob = (await shrink(file)) || file;
    const entry = {
      client_action_id: newId(),
      worker_id: state.workerId,
      order_id: orderId,
      taken_at: new Date(file.lastModified || Date.now()).toISOString(),
      name: file.name || "photo.jpg",
      type: blob.type,
      blob: blob,
    };
    let stored = true;
    try {
      await idbPut("photos", entry);
    } catch (e) {
      stored = false;
      notice(_("Could not keep the photo on this phone ({reason}): keep this page open until it is synced.", { reason: e.message }), "error");
    }
    state.photos.push(stored ? { ...entry, blob: undefined } : entry);
    render();
    syncSoon();
    return entry.client_action_id; // what a form's photo answer refers to
  }

  /** A camera photo too large (or in a type the office does not take) as a JPEG of at most 2560 px. */
  async function shrink(file) {
    try {
      const bitmap = await createImageBitmap(file);
      const f = Math.min(1, 2560 / Math.max(bitmap.width, bitmap.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * f);
      canvas.height = Math.round(bitmap.height * f);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
    } catch (e) {
      return null;
    }
  }

  function wire(a) {
    const out = { client_action_id: a.client_action_id, order_id: a.order_id, action: a.action, at: a.at };
    if (a.reason) out.reason = a.reason;
    if (a.location) out.location = a.location;
    if (a.report) out.report = a.report;
    if (a.kind) out.kind = a.kind; // a late entry's missed step: in or out
    if (a.day_report) out.day_report = a.day_report;
    return out;
  }

  let syncing = false, syncAgain = false, backoffMs = 0, retryTimer = null;

  function syncSoon() {
    setTimeout(sync, 0);
  }

  /** Send what is queued: actions in tap order, then photos, then positions. Keeps everything on a network error. */
  async function sync() {
    if (syncing) { syncAgain = true; return; }
    if (state.refused || !navigator.onLine) return;
    syncing = true;
    clearTimeout(retryTimer);
    let ok = false;
    try {
      // A report whose form answers name queued photos goes after them (the office checks they arrived).
      const photosFirst = state.actions.some((a) => (a.photo_ids || []).length);
      ok = photosFirst
        ? (await syncPhotos()) && (await syncActions()) && (await flushPositions())
        : (await syncActions()) && (await syncPhotos()) && (await flushPositions());
    } catch (e) {
      ok = false;
    } finally {
      syncing = false;
    }
    render();
    if (state.refused) return;
    if (ok) backoffMs = 0;
    else {
      backoffMs = Math.min(backoffMs ? backoffMs * 2 : 2000, 60000);
      retryTimer = setTimeout(sync, backoffMs);
    }
    if (syncAgain) { syncAgain = false; syncSoon(); }
  }

  async function post(path, body, json) {
    try {
      const res = await fetch(API + path, json
        ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }
        : { method: "POST", body: body });
      state.reachable = true;
      return res;
    } catch (e) {
      state.reachable = false; // offline or the office unreachable: keep everything and retry
      return null;
    }
  }

  async function errorOf(res) {
    try {
      const body = await res.json();
      return body.error || res.statusText;
    } catch (e) {
      return `${res.status} ${res.statusText}`;
    }
  }

  async function syncActions() {
    // Without IndexedDB (a private window in some browsers) the queue lives only in memory.
    const queue = db ? (await idbAll("actions")).filter((a) => a.worker_id === state.workerId) : state.actions.slice();
    let changed = false;
    for (let i = 0; i < queue.length; i += BATCH) {
      const batch = queue.slice(i, i + BATCH);
      // sent_at: the phone's clock now, so the office can tell how far it is from its own.
      const res = await post("/actions", { actions: batch.map(wire), sent_at: new Date().toISOString() }, true);
      if (!res) return false;
      if (res.status === 401 || res.status === 410) { linkRefused(await errorOf(res)); return false; }
      if (!res.ok) { notice(`The office did not take the queued changes: ${await errorOf(res)}`, "error"); return false; }
      const { results } = await res.json();
      for (const r of results) {
        const entry = batch.find((a) => a.client_action_id === r.client_action_id);
        if (!entry) continue;
        if (entry.seq !== undefined) await idbDelete("actions", entry.seq);
        state.actions = state.actions.filter((a) => a.client_action_id !== entry.client_action_id);
        changed = true;
        const order = orderById(entry.order_id);
        if (r.status === "refused" || r.status === "invalid") {
          const what = entry.order_id ? _("{action} for {order}", { action: ACTION_WORDS[entry.action], order: orderName(entry.order_id) })
            : ACTION_WORDS[entry.action];
          notice(_("{what} was refused: {reason}", { what: what, reason: r.error }), "refused");
        }
        if (order && r.order_status) order.status = r.order_status;
        if (r.verdict) {
          state.verdicts[entry.order_id] = { action: entry.action, verdict: r.verdict, reason: r.verdict_reason };
          if (db) idbPut("kv", { key: "verdicts:" + state.workerId, verdicts: state.verdicts }).catch(() => {});
        }
      }
      render();
    }
    if (changed) refreshDay();
    return true;
  }

  async function syncPhotos() {
    const queue = db ? (await idbAll("photos")).filter((p) => p.worker_id === state.workerId) : state.photos.slice();
    for (const p of queue) {
      const form = new FormData();
      form.append("file", p.blob, p.name);
      form.append("order_id", String(p.order_id));
      form.append("client_action_id", p.client_action_id);
      form.append("taken_at", p.taken_at);
      const res = await post("/photos", form, false);
      if (!res) return false;
      if (res.status === 401 || res.status === 410) { linkRefused(await errorOf(res)); return false; }
      if (res.status >= 500) return false;
      // Counted as sent from now on: a day read on the server before it arrived (its answer may come later) does
      // not list it, one read after does (updateCard).
      if (res.ok) {
        const sent = await res.json().catch(() => ({}));
        if (!state.photosSent.some((x) => x.photo_id === sent.photo_id)) state.photosSent.push({ order_id: p.order_id, photo_id: sent.photo_id });
      } else notice(_("A photo for {order} was refused: {reason}", { order: orderName(p.order_id), reason: await errorOf(res) }), "refused");
      if (db) await idbDelete("photos", p.client_action_id).catch(() => {});
      state.photos = state.photos.filter((x) => x.client_action_id !== p.client_action_id);
      render();
    }
    return true;
  }

  async function flushPositions() {
    if (!db) return true;
    const queue = (await idbAll("positions")).filter((p) => p.worker_id === state.workerId);
    for (let i = 0; i < queue.length; i += 500) {
      const batch = queue.slice(i, i + 500);
      const res = await post("/positions", {
        positions: batch.map((p) => ({
          lat: p.lat, lon: p.lon, accuracy: p.accuracy, timestamp: p.timestamp, ...(p.speed != null ? { speed: p.speed } : {}),
        })),
      }, true);
      if (!res) return false;
      if (res.status === 401 || res.status === 410) { linkRefused(await errorOf(res)); return false; }
      if (res.status >= 500) return false;
      if (res.ok) {
        const body = await res.json();
        const words = body.received === 1 ? N_("Last sent {time}: {accepted} of {received} position accepted.")
          : N_("Last sent {time}: {accepted} of {received} positions accepted.");
        $("#share-state").textContent =
          _(words, { time: hhmm(new Date().toISOString()), accepted: body.accepted, received: body.received });
      } else notice(_("Positions were refused: {reason}", { reason: await errorOf(res) }), "refused");
      await db.delMany("positions", batch.map((p) => p.seq));
    }
    state.positions = (await idbAll("positions")).filter((p) => p.worker_id === state.workerId).length;
    return true;
  }

  // ---------------------------------------------------------------- the server's view of the day

  // Reads of the day overlap (a push, a synced action, a connect each ask one) and may be answered out of order:
  // only the answer of the latest read asked is used. An older one may have been read on the server before a
  // change this page already shows (its own action acknowledged, an order pushed), and would undo it.
  const days = { asked: 0, answered: 0 };

  async function refreshDay() {
    const asked = ++days.asked;
    const latest = () => asked === days.asked;
    let res, day;
    try {
      res = await fetch(API + "/day", { cache: "no-store" });
      day = res.ok ? await res.json() : null;
    } catch (e) {
      days.answered += 1;
      if (latest()) { state.reachable = false; render(); }
      return false;
    }
    days.answered += 1;
    state.reachable = true;
    if (res.status === 401 || res.status === 410) { linkRefused(await errorOf(res)); return false; }
    if (!latest()) return false;  // a newer read was asked meanwhile: its answer is used instead
    if (!res.ok) { notice(_("Could not load your day: {reason}", { reason: await errorOf(res) }), "error"); return false; }
    state.day = day;
    if (state.workerId !== day.worker.id) {
      state.workerId = day.worker.id;
      await loadQueues();
    }
    if (db) idbPut("kv", { key: DAY_KEY, day: day, saved_at: new Date().toISOString() }).catch(() => {});
    render();
    for (const hook of window.outfieldField.onDay) hook();
    return true;
  }

  function linkRefused(reason) {
    state.refused = reason || "the link was refused";
    stopSharing();
    if (socket) socket.stop();
    // A revoked link may be a lost phone: forget the day's addresses and notes. Queued actions stay,
    // and a new link for the same worker sends them (with their original times).
    if (db) idbDelete("kv", DAY_KEY).catch(() => {});
    if (window.caches) caches.open("outfield-field-v2").then((c) => c.delete(API + "/day")).catch(() => {});
    render();
  }

  // ---------------------------------------------------------------- geolocation

  function getFix() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve({ error: "this browser has no location service" });
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ fix: fixOf(p) }),
        (e) => resolve({ error: e.message || "location unavailable" }),
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 },
      );
    });
  }

  function fixOf(p) {
    const c = p.coords;
    const at = new Date(p.timestamp || Date.now()).toISOString();
    return { lat: c.latitude, lon: c.longitude, accuracy_m: c.accuracy, at: at, speed_mps: c.speed };
  }

  function seen(fix) {
    state.position = fix;
    drawMap();
  }

  async function checkInOrOut(order, action, card) {
    const at = new Date().toISOString(); // the tap, not the moment the fix arrives
    busy.set(order.id, _("Getting your position…"));
    render();
    if (action === "check_out" && !(await saveReportIfChanged(card, order.id))) {
      notice(_("Fill in the service report of {order} before checking out.", { order: orderName(order.id) }), "error");
      return;
    }
    const { fix, error } = await getFix();
    if (fix) seen(fix);
    else notice(_("{action} is saved without a position ({reason}); the office will see that.", { action: ACTION_WORDS[action], reason: error }), "error");
    const location = fix ? { lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy_m, at: fix.at } : undefined;
    await queueAction(order.id, action, location ? { at: at, location: location } : { at: at });
    if (action === "check_out" && db) idbDelete("kv", draftKey(order.id)).catch(() => {});
  }

  let watchId = null, lastQueuedAt = 0, flushTimer = null;

  function startSharing() {
    if (!navigator.geolocation) { notice(_("This browser has no location service."), "error"); return stopSharing(); }
    state.sharing = true;
    $("#share-state").textContent = _("Sharing your position while this page is open.");
    watchId = navigator.geolocation.watchPosition(onWatch, (e) => {
      $("#share-state").textContent = _("Position unavailable: {reason}", { reason: e.message });
    }, { enableHighAccuracy: true, maximumAge: 10000, timeout: 60000 });
    flushTimer = setInterval(() => { if (navigator.onLine) flushPositions().then(renderStatusLine).catch(() => {}); }, 30000);
  }

  // ---------------------------------------------------------------- consent to tracking

  let consent = null; // {state: given|none|withdrawn, text_version, given_text_version, ...} once read

  async function loadConsent() {
    try {
      const res = await fetch(API + "/consent", { cache: "no-store" });
      if (res.ok) consent = await res.json();
    } catch (e) { /* offline: sharing waits for the consent to be read */ }
    renderConsent();
  }

  function renderConsent() {
    const given = !!consent && consent.state === "given";
    $("#consent").hidden = false;
    $("#share-position").disabled = !given;
    $("#consent-give").hidden = given || !consent;
    $("#consent-withdraw").hidden = !given;
    $("#consent-state").textContent = !consent ? _("Go online to give or check your consent before sharing.")
      : given ? _("You agreed (consent text version {version}).", { version: consent.given_text_version })
      : consent.state === "withdrawn" ? _("You withdrew your consent: your position is not shared.")
      : _("Agree before sharing your position.");
  }

  async function setConsent(given) {
    const body = given ? { given: true, text_version: consent.text_version } : { given: false };
    try {
      const res = await fetch(API + "/consent", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      const answer = await res.json();
      if (res.ok) consent = answer; else notice(answer.error || _("Your consent could not be saved."), "error");
    } catch (e) {
      notice(_("Your consent could not be saved: you are offline."), "error");
    }
    if (!consent || consent.state !== "given") stopSharing();
    renderConsent();
  }

  function stopSharing() {
    state.sharing = false;
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
    clearInterval(flushTimer);
    const box = $("#share-position");
    if (box) box.checked = false;
    if ($("#share-state")) $("#share-state").textContent = _("Not sharing your position.");
  }

  async function onWatch(p) {
    const fix = fixOf(p);
    seen(fix);
    if (!state.sharing || Date.now() - lastQueuedAt < POSITION_EVERY_MS || !db) return;
    lastQueuedAt = Date.now();
    const item = {
      worker_id: state.workerId, lat: fix.lat, lon: fix.lon, accuracy: fix.accuracy_m, timestamp: fix.at,
      speed: fix.speed_mps != null && fix.speed_mps >= 0 ? fix.speed_mps * KNOTS_PER_MPS : null,
    };
    await idbPut("positions", item);
    state.positions += 1;
    if (state.positions > MAX_QUEUED_POSITIONS) { // a long day offline: keep the newest
      const all = (await idbAll("positions")).slice(0, state.positions - MAX_QUEUED_POSITIONS);
      await db.delMany("positions", all.map((x) => x.seq));
      state.positions = MAX_QUEUED_POSITIONS;
    }
    if (state.positions === 1 && navigator.onLine) flushPositions().catch(() => {});
  }

  // ---------------------------------------------------------------- report, parts, signature

  function addPartRow(card, name, quantity) {
    const row = el("div", { class: "part-row" }, [
      el("input", { class: "part-name", placeholder: _("Part"), "aria-label": _("Part name"), value: name }),
      el("input", { class: "part-qty", type: "number", min: "1", step: "1", inputmode: "numeric", "aria-label": _("Quantity"), value: String(quantity) }),
      el("button", { type: "button", class: "btn btn-small part-remove", text: _("Remove"), "aria-label": _("Remove part") }),
    ]);
    row.querySelector(".part-remove").addEventListener("click", () => { row.remove(); card.reportDirty = true; });
    card.querySelector(".part-rows").append(row);
    return row;
  }

  function collectReport(card) {
    const checklist = {};
    const parts = Array.from(card.querySelectorAll(".part-row"))
      .map((r) => ({
        name: r.querySelector(".part-name").value.trim(),
        quantity: Math.max(1, parseInt(r.querySelector(".part-qty").value, 10) || 1),
      }))
      .filter((p) => p.name);
    const report = {
      text: card.querySelector(".report-text").value.trim(),
      checklist: checklist,
      parts: parts,
      signed_by: card.querySelector(".signed-by").value.trim(),
    };
    if (card.pad.signed) report.signature = card.pad.toDataURL();
    if (card.formView) {
      report.form_id = card.form.id;
      report.form_version = card.form.version;
      report.answers = card.formView.collect();
    }
    return report;
  }

  function reportIsEmpty(r) {
    const answered = Object.values(r.answers || {}).some((v) => v !== false && v !== null);
    return !r.text && !r.parts.length && !r.signed_by && !r.signature && !Object.values(r.checklist).some(Boolean) && !answered;
  }

  /** Queue the report; false (and the reasons shown by each field) when the form's answers would be refused. */
  async function saveReport(card, orderId) {
    const report = collectReport(card);
    if (reportIsEmpty(report) && !(card.formView && card.formView.hasRequired)) {
      card.querySelector(".report-state").textContent = _("The report is empty.");
      return true;
    }
    if (card.formView && Object.keys(card.formView.check(report.answers)).length) {
      card.querySelector(".report-state").textContent = _("Some answers are missing or wrong: see the marked fields.");
      return false;
    }
    card.reportDirty = false;
    // A resubmission is a new action with its own id: the office keeps both, in order.
    await queueAction(orderId, "report", { report: report, photo_ids: photoAnswers(card, report) });
    return true;
  }

  function photoAnswers(card, report) {
    if (!card.formView) return [];
    return card.form.fields.filter((f) => f.type === "photo").flatMap((f) => report.answers[f.id] || []);
  }

  /** Before a check-out: save a changed report, or one the form requires; false when its answers are not acceptable. */
  async function saveReportIfChanged(card, orderId) {
    const order = orderById(orderId);
    const sent = reportQueued(orderId) || !!(order && order.report);
    const required = !!(card.formView && card.formView.hasRequired);
    if (card.reportDirty || (!sent && (required || !reportIsEmpty(collectReport(card))))) {
      return saveReport(card, orderId);
    }
    return true;
  }

  function setupSignature(card, orderId) {
    card.pad = Field.signaturePad(card.querySelector(".signature"), () => {
      card.reportDirty = true;
      saveDraftSoon(card, orderId);
    });
    card.querySelector(".clear-signature").addEventListener("click", () => {
      card.pad.clear();
      card.reportDirty = true;
      saveDraftSoon(card, orderId);
    });
  }

  // Drafts keep a half-written report through a reload, a dead battery or a browser that was closed.
  const draftKey = (orderId) => `draft:${state.workerId}:${orderId}`;
  const draftTimers = {};

  function saveDraftSoon(card, orderId) {
    clearTimeout(draftTimers[orderId]);
    draftTimers[orderId] = setTimeout(() => {
      if (db) idbPut("kv", { key: draftKey(orderId), report: collectReport(card), dirty: !!card.reportDirty }).catch(() => {});
    }, 400);
  }

  async function restoreDraft(card, order) {
    let draft = null;
    try { draft = db ? await idbGet("kv", draftKey(order.id)) : null; } catch (e) { draft = null; }
    const report = draft ? draft.report : order.report;
    if (!report) return;
    card.querySelector(".report-text").value = report.text || "";
    card.querySelector(".signed-by").value = report.signed_by || "";
    if (card.formView) card.formView.fill(report.answers || {});
    card.querySelector(".part-rows").replaceChildren();
    for (const p of report.parts || []) addPartRow(card, p.name, p.quantity);
    card.reportDirty = draft ? draft.dirty : false;
    if (report.signature) card.pad.draw(report.signature);
  }

  // ---------------------------------------------------------------- live pushes (socketio.js)

  let socket = null;

  function connectSocket() {
    if (state.refused || socket || !("WebSocket" in window)) return;
    socket = Field.connectSocketIO({ link: TOKEN }, {
      // Every connect, the first included, reads the day again: what was pushed before it (between the page's
      // read and the connect, or while the socket was down) reached nobody here.
      onState: (up) => { state.socketUp = up; renderStatusLine(); if (up) refreshDay(); },
      onRefused: () => refreshDay(), // the day's answer says why, in words
      onEvent: (name, data) => {
        if (name === "assignment") onAssignment(data || {});
        for (const hook of window.outfieldField.onEvent) hook(name, data || {});
      },
    });
  }

  function onAssignment(message) {
    const o = message.order || {};
    const id = o.order_id;
    const local = orderById(id);
    const mine = o.assigned_worker_id === state.workerId;
    let text = null;
    if (local && o.status === shownStatus(local)) text = null; // this page's own step, coming back
    else if (!local && mine) text = _("New order for you: {order}", { order: (o.label || _("order #{id}", { id: id })).replace(/ · assigned$/, "") });
    else if (local && (!mine || o.status === "cancelled")) {
      text = _(o.status === "cancelled" ? N_("{order} was cancelled.") : N_("{order} was taken off your list."), { order: orderName(id) });
    }
    else if (local && o.status !== shownStatus(local)) text = _("{order} is now: {status}.", { order: orderName(id), status: STATUS_WORDS[o.status] || o.status });
    if (text) showBanner(text);
    window.outfieldField.assignmentsReceived += 1;
    refreshDay();
  }

  // ---------------------------------------------------------------- start

  async function start() {
    await window.Field.i18n.ready; // the catalogue: cached on the phone, refreshed when online
    $("#banner-close").addEventListener("click", () => { $("#banner").hidden = true; });
    loadRoads();
    $("#share-position").checked = false; // consent is asked for on every visit
    $("#share-position").addEventListener("change", (ev) => (ev.target.checked ? startSharing() : stopSharing()));
    $("#share-state").textContent = _("Not sharing your position.");
    $("#share-position").disabled = true; // until the worker's consent is read (loadConsent)
    $("#consent-give").addEventListener("click", () => setConsent(true));
    $("#consent-withdraw").addEventListener("click", () => setConsent(false));
    $("#locate").addEventListener("click", async () => {
      const { fix, error } = await getFix();
      if (fix) seen(fix); else $("#map-note").textContent = _("Position unavailable: {reason}", { reason: error });
    });
    window.addEventListener("online", () => {
      backoffMs = 0;
      state.reachable = true;
      render();
      sync();
      refreshDay();
      if (socket) socket.reconnectNow();
    });
    window.addEventListener("offline", () => render());
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/field/sw.js", { scope: "/field/" }).catch(() => {});
      // On the first visit the worker takes over after the day was fetched: fetch it once more
      // through the worker, so that its cache holds the day too.
      navigator.serviceWorker.addEventListener("controllerchange", () => {
        refreshDay();
        keepFontsOffline();
      });
      if (navigator.serviceWorker.controller) keepFontsOffline();
    }

    try {
      db = await Field.openStore();
    } catch (e) {
      notice(_("This browser cannot keep data offline; keep the page open until changes are synced."), "error");
    }
    if (db) {
      const cached = await idbGet("kv", DAY_KEY).catch(() => null);
      if (cached && cached.day) {
        state.day = cached.day;
        state.workerId = cached.day.worker.id;
      }
      await loadQueues();
    }
    render();
    // Queued changes go first, so that the day fetched afterwards already includes them.
    await sync();
    await refreshDay();
    await loadConsent();
    connectSocket();
  }

  // attendance.js (clock-in/out, late entries, the day's report, reminders) plugs in through these.
  // The chunks of the shipped Chinese font this page drew with before the service worker took over (the first
  // visit) were fetched past it: fetch them once more through it, so that the page offline draws the same text
  // (and asks the network for none of them). `state.fontsKeptOffline` says it is done (tests read it).
  async function keepFontsOffline() {
    try {
      await document.fonts.ready;
      const chunks = performance.getEntriesByType("resource").map((e) => e.name)
        .filter((u) => u.startsWith(location.origin + "/assets/fonts/") && u.endsWith(".woff2"));
      await Promise.all([...new Set(chunks)].map((u) => fetch(u).catch(() => null)));
      state.fontsKeptOffline = true;
    } catch (e) {
      // no network: the chunks are fetched through the worker on the next visit
    }
  }

  window.outfieldField = {
    state: state, sync: sync, refreshDay: refreshDay, assignmentsReceived: 0, api: API, token: TOKEN,
    days: days, // reads of the day asked and answered (tests read it)
    queueAction: queueAction, getFix: getFix, notice: notice, showBanner: showBanner, onRender: [], onDay: [],
    onEvent: [],
  };
  start();
})();
