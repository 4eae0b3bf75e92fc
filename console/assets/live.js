// Clientside display logic of the live map: no server round trip per position.
// Positions arrive over a Socket.IO connection of this script's own, in batches, and go straight to the
// workers layer's Leaflet markers and the side panel's counts and worker list ("the fleet" below), never
// through Dash's store: every store update costs the page in proportion to the whole layout
// (bench/README.md, "Live map in the browser"). Order pushes come over the same socket onto the orders
// layer (set_props) and the selected order's card.
(function () {
  const STATE_COLOURS = {
    idle: "#4ade80", en_route: "#38bdf8", on_site: "#f59e0b", offline: "#6b7280", off_shift: "#374151",
  };
  const ORDER_COLOURS = {
    new: "#f43f5e", assigned: "#a78bfa", accepted: "#818cf8", en_route: "#38bdf8", on_site: "#f59e0b",
    done: "#22c55e", declined: "#fb7185", failed: "#ef4444", cancelled: "#525252",
  };
  const OFFLINE_AFTER_MS = 10 * 60 * 1000;

  // The order a worker is working on decides "en route" / "on site" (as dispatch.workers.worker_state);
  // otherwise the server's movement-based state from the last fix.
  const ACTIVE_ORDER_STATES = { en_route: "en_route", on_site: "on_site" };
  // Worker states and order statuses as the panel words them (translated by _(), below).
  const STATE_WORDS = {
    idle: N_("idle"), en_route: N_("en route"), on_site: N_("on site"), offline: N_("offline"), new: N_("new"),
    assigned: N_("assigned"), accepted: N_("accepted"), done: N_("done"), failed: N_("failed"),
    declined: N_("declined"), cancelled: N_("cancelled"),
  };
  function stateWord(state) { return STATE_WORDS[state] ? _(STATE_WORDS[state]) : state.replace("_", " "); }
  const TYPE_WORDS = {
    visit: N_("visit"), repair: N_("repair"), inspection: N_("inspection"), delivery: N_("delivery"),
    emergency: N_("emergency"),
  };
  function typeWord(type) { return TYPE_WORDS[type] ? _(TYPE_WORDS[type]) : String(type); }
  // Why a worker is not tracked (the snapshot's `untracked`, services/geojson.py untracked_reason): their fixes
  // are not kept, so the map shows them at their home base (or only in the list) and says so.
  // "off_shift": location is kept on shift only, so off shift they are drawn at home too, and not counted offline.
  const UNTRACKED_WORDS = {
    no_consent: N_("no consent: not tracked"), consent_withdrawn: N_("consent withdrawn: not tracked"),
    off_shift: N_("off shift"),
  };
  function untrackedWords(why) { return _(UNTRACKED_WORDS[why] || UNTRACKED_WORDS.no_consent); }

  function stateOf(props, nowMs) {
    if (props.untracked === "off_shift") return "off_shift";
    if (!props.fix_time) return "offline";
    if (nowMs - Date.parse(props.fix_time) > OFFLINE_AFTER_MS) return "offline";
    if (ACTIVE_ORDER_STATES[props.order_status]) return ACTIVE_ORDER_STATES[props.order_status];
    const moving = (props.speed_mps || 0) > 1.5;
    return moving ? "en_route" : "idle";
  }

  // ---- The fleet: every worker on the workers layer, kept current from the socket, outside Dash's store.
  const HOLDS_ORDER = ["assigned", "accepted", "en_route", "on_site"];
  const PANEL_REFRESH_MS = 1000;  // the list's ages ("12 s ago") and the offline cut-off
  const SOCKET_CLIENT = "/field/static/socketio.js";  // the field page's Socket.IO client (console/field/socketio.js)
  const ORDERS_LAYER = "orders-layer";  // console/pages/ids.py ORDERS_LAYER
  const ORDERS_CHANGED = "orders-changed";  // console/pages/ids.py ORDERS_CHANGED
  // console/pages/ids.py SELECTED_ORDER, ORDER_REFRESH, ASSIGN_CLICK
  const ORDER_DOM = { selected: "selected-order", refresh: "order-refresh", assign: "assign-click" };
  const DOM = { list: "worker-list", counts: "state-counts", search: "worker-search", feed: "live-feed", selected: "selected-worker" };
  const fleet = {
    workers: new Map(),  // worker_id -> { props, latlng }: the layer's feature properties, kept current
    markers: new Map(),  // worker_id -> its L.CircleMarker (made by workerMarker when dash-leaflet draws the layer)
    early: new Map(),    // worker_id -> its latest update that came before its marker was drawn
    rows: new Map(),     // worker_id -> its row in the worker list
    shown: null,         // the ids in the list, in order, as last drawn
    connection: null,
  };

  // ---- The default view: on a wall screen it fits every worker and every open order, with labels.
  // Markers grow with the screen (a 4K wall is read from further away); labels are permanent while the
  // map holds few enough of them to read (live.py decides from the snapshot: data-worker-labels and
  // data-order-labels on the wall). The map fits every worker and open order when they are first
  // drawn, and again whenever one would leave the view, until the dispatcher moves the map themselves.
  const view = {
    scale: window.innerWidth >= 3000 ? 2 : window.innerWidth >= 2400 ? 1.5 : 1,
    orderMarkers: new Map(),  // order_id -> its latest L.CircleMarker (the layer is redrawn on order changes)
    userMoved: false,
    queued: false,
  };

  function labelsOn(key) {
    const wall = document.getElementById("wall");
    return Boolean(wall && wall.dataset[key] === "on");
  }

  function leafletMap() {
    for (const m of fleet.markers.values()) if (m._map) return m._map;
    for (const m of view.orderMarkers.values()) if (m._map) return m._map;
    return null;
  }

  // What the view must hold: every worker, every open order (a closed one leaves the layer).
  function viewPoints() {
    const points = [];
    for (const m of fleet.markers.values()) if (m._map) points.push(m.getLatLng());
    for (const m of view.orderMarkers.values()) if (m._map) points.push(m.getLatLng());
    return points;
  }

  // Room for the exceptions panel over the map's top right corner, so no marker hides under it: either a
  // strip down the right side or one across the top, whichever leaves the larger map.
  function fitPadding(map) {
    const panel = document.getElementById("alerts-panel");
    const box = map.getContainer().getBoundingClientRect();
    const margin = 40 * view.scale;
    let right = 0, top = 0;
    if (panel) {
      const p = panel.getBoundingClientRect();
      const beside = (p.left - box.left) * box.height, below = box.width * (box.bottom - p.bottom);
      if (beside >= below) right = box.right - p.left; else top = p.bottom - box.top;
    }
    // Labels sit above workers and right of orders: room for half a name on the left, a number on the right.
    return { paddingTopLeft: [2 * margin, top + margin], paddingBottomRight: [right + 2 * margin, margin], maxZoom: 17 };
  }

  function fitView() {
    view.queued = false;
    const map = leafletMap();
    if (!map || view.userMoved) return;
    if (!view.watching) {
      view.watching = true;
      const container = map.getContainer();
      for (const type of ["mousedown", "wheel", "touchstart", "keydown"]) {
        container.addEventListener(type, () => { view.userMoved = true; }, { passive: true });
      }
    }
    const points = viewPoints();
    if (!points.length) return;
    const bounds = L.latLngBounds(points);
    if (window.outfield.fitted) {
      // Refit only when something is out of the padded view: a wall screen should not twitch.
      const options = fitPadding(map);
      const size = map.getSize();
      const inner = L.bounds(L.point(options.paddingTopLeft), size.subtract(L.point(options.paddingBottomRight)));
      if (points.every((p) => inner.contains(map.latLngToContainerPoint(p)))) return;
    }
    map.fitBounds(bounds, Object.assign(fitPadding(map), { animate: false }));
    window.outfield.fitted = true;
    window.outfield.fits += 1;
  }

  function scheduleFit() {
    scheduleDeclutter(); // markers drawn or moved: their labels may meet
    if (view.queued) return;
    view.queued = true;
    setTimeout(fitView, 50);
  }

  // ---- Crowded labels. Where markers crowd (a dozen workers in Monaco's centre), permanent labels piled up into a
  // block nobody could read. After the map or a marker moves, a permanent label that would overlap one kept already
  // is hidden (label-crowded: still laid out, so it is measured the next time), the names of workers with an open
  // exception kept first, then the worker picked (the list, the map, an exception's name), then the other workers',
  // then orders' numbers; within each of these, a label already shown before one that was hidden, so that a label
  // drawn anew (a worker's status, an order's marker) or brought to the front by a hover does not take a shown one's
  // place: names stay put on the wall while the markers do; hovering its marker shows a hidden label
  // (label-front), and zooming in brings labels back as the markers come apart.
  const crowd = { queued: false, hooked: null, shown: new Set() };

  function declutter() {
    crowd.queued = false;
    const map = leafletMap();
    if (!map) return;
    if (crowd.hooked !== map) {
      crowd.hooked = map;
      map.on("zoomend moveend resize", scheduleDeclutter);
    }
    const pane = map.getPane("tooltipPane");
    const labels = [...pane.querySelectorAll(".leaflet-tooltip.label-permanent")];
    const alerted = new Set(); // the names of workers with an open exception are kept first
    const labelOf = (workerId) => {
      const tip = fleet.markers.has(workerId) ? fleet.markers.get(workerId).getTooltip() : null;
      return tip ? tip.getElement() : null;
    };
    for (const a of alerts.open.values()) alerted.add(labelOf(a.worker_id));
    const selected = labelOf(view.selected); // the worker the dispatcher picked comes next
    const keys = new Map(); // a label's element -> its marker's key, which outlives a label drawn anew
    for (const [id, marker] of fleet.markers) keyOf(keys, marker, "w" + id);
    for (const [id, marker] of view.orderMarkers) keyOf(keys, marker, "o" + id);
    const rank = (el) => (alerted.has(el) ? 0 : el === selected ? 1 : el.classList.contains("worker-label") ? 2 : 3);
    const hidden = (el) => (crowd.shown.has(keys.get(el)) ? 0 : 1);
    labels.sort((a, b) => rank(a) - rank(b) || hidden(a) - hidden(b)); // stable: then the order they were drawn in
    const kept = [];
    crowd.shown = new Set();
    for (const el of labels) {
      const r = el.getBoundingClientRect();
      const clash = kept.some((k) => r.left < k.right && k.left < r.right && r.top < k.bottom && k.top < r.bottom);
      el.classList.toggle("label-crowded", clash);
      if (!clash) { kept.push(r); crowd.shown.add(keys.get(el)); }
    }
    window.outfield.declutters += 1;
  }

  function keyOf(keys, marker, key) {
    const tip = marker.getTooltip();
    const el = tip ? tip.getElement() : null;
    if (el) keys.set(el, key);
  }

  // The worker the dispatcher picked: their name is kept before the other workers' among crowded labels.
  function picked(id) {
    view.selected = id;
    scheduleDeclutter();
  }

  function scheduleDeclutter() {
    if (crowd.queued) return;
    crowd.queued = true;
    setTimeout(declutter, 100);
  }

  // A permanent label under the pointer comes to the front (labels overlap where markers crowd) and
  // shows its whole text (`full()`, a text node like every label); leaving it puts the short one back.
  function frontOnHover(marker, full, short) {
    marker.on("mouseover", () => {
      const tip = marker.getTooltip();
      if (!tip || !tip.options.permanent) return;
      if (full) tip.setContent(full());
      const node = tip.getElement();
      if (node && node.parentNode) { node.parentNode.appendChild(node); node.classList.add("label-front"); }
    });
    marker.on("mouseout", () => {
      const tip = marker.getTooltip();
      if (!tip || !tip.options.permanent) return;
      if (short) tip.setContent(short());
      const node = tip.getElement();
      if (node) node.classList.remove("label-front");
    });
  }

  // A marker's label as a text node in an element: Leaflet would parse a string as HTML, and names are typed by users.
  function label(text) {
    const node = document.createElement("span");
    node.textContent = text == null ? "" : String(text);
    return node;
  }

  function markerClass(id, state, home) {
    return "worker-marker worker-" + id + " worker-state-" + state + (home ? " worker-home" : "");
  }

  function place(w, u) {
    // A fix is pushed only while it is kept: a worker shown off shift has begun theirs (the read at the turn may
    // not have come yet).
    if (w.props.untracked === "off_shift") w.props.untracked = null;
    w.latlng = [u.lat, u.lon];
    Object.assign(w.props, {
      fix_time: u.fix_time, speed_mps: u.speed_mps, bearing_deg: u.bearing_deg,
      battery_pct: u.battery_pct, accuracy_m: u.accuracy_m,
    });
  }

  // The worker's state from its latest fix and order; the marker's colour and class follow it.
  function restyle(id, w, nowMs) {
    const before = w.props.state;
    const state = stateOf(w.props, nowMs);
    if (state === before) return;
    w.props.state = state;
    const marker = fleet.markers.get(id);
    if (!marker) return;
    marker.options.className = markerClass(id, state, atHome(w.props));
    marker.setStyle({ fillColor: STATE_COLOURS[state] || STATE_COLOURS.offline });
    const path = marker.getElement();
    if (path) { path.classList.remove("worker-state-" + before); path.classList.add("worker-state-" + state); }
  }

  // Called by dash-leaflet for each worker when it draws the layer: the fleet's latest state wins over the
  // page's snapshot, so a redrawn layer never jumps back, and updates that came first are kept.
  function workerMarker(feature, latlng) {
    const id = feature.properties.worker_id;
    let w = fleet.workers.get(id);
    if (!w) {
      w = { props: { ...feature.properties }, latlng: [latlng.lat, latlng.lng] };
      const early = fleet.early.get(id);
      if (early && (!w.props.fix_time || Date.parse(early.fix_time) >= Date.parse(w.props.fix_time))) place(w, early);
      fleet.early.delete(id);
      fleet.workers.set(id, w);
    }
    w.props.state = stateOf(w.props, Date.now());
    const marker = L.circleMarker(w.latlng, {
      weight: 2 * view.scale, color: "#0b1120",
      fillColor: STATE_COLOURS[w.props.state] || STATE_COLOURS.offline,
      className: markerClass(id, w.props.state, atHome(w.props)),
      ...homeStyle(w.props),
    });
    bindWorkerLabel(marker, w.props);
    frontOnHover(marker, null, null);
    fleet.markers.set(id, marker);
    schedulePanel();
    scheduleFit();
    return marker;
  }

  // A worker drawn at their home base (no fix yet, or not tracked) is not where they are: a smaller, paler marker
  // whose label shows on hover only, so the names on the wall are those of the workers the map places.
  function atHome(p) { return Boolean(p.untracked) || !p.fix_time; }

  function homeStyle(p) {
    return atHome(p) ? { radius: 6 * view.scale, fillOpacity: 0.45 } : { radius: 9 * view.scale, fillOpacity: 0.95 };
  }

  function bindWorkerLabel(marker, p) {
    const permanent = labelsOn("workerLabels") && !atHome(p);
    marker.unbindTooltip();
    marker.bindTooltip(label(markerText(p)), {
      direction: "top", offset: [0, -8 * view.scale], permanent: permanent,
      className: "marker-label worker-label" + (permanent ? " label-permanent" : ""),
    });
    const path = marker.getElement();
    if (path) path.classList.toggle("worker-home", atHome(p));
  }

  // A worker drawn at their home base says so until their first fix, or that they are not tracked.
  function markerText(p) {
    if (p.untracked) return p.name + " · " + untrackedWords(p.untracked);
    return p.fix_time ? p.name : p.name + " · " + _("no fix yet");
  }

  // Whether fix time `a` is before `b` (a worker with no fix yet has none older).
  function olderFix(a, b) { return Boolean(a && b) && Date.parse(a) < Date.parse(b); }

  function applyPositions(message) {
    const nowMs = Date.now();
    const updates = (message && message.updates) || [];
    for (const u of updates) {
      const w = fleet.workers.get(u.worker_id);
      if (!w) {  // kept until the worker's marker is drawn
        const early = fleet.early.get(u.worker_id);
        if (!early || !olderFix(u.fix_time, early.fix_time)) fleet.early.set(u.worker_id, u);
        continue;
      }
      // A fix older than the one shown is not drawn: a snapshot read before a pushed fix would put the marker back.
      if (olderFix(u.fix_time, w.props.fix_time)) continue;
      const first = !w.props.fix_time;
      place(w, u);
      const marker = fleet.markers.get(u.worker_id);
      if (marker) marker.setLatLng(w.latlng);
      if (marker && first) { marker.setStyle(homeStyle(w.props)); bindWorkerLabel(marker, w.props); }
      restyle(u.worker_id, w, nowMs);
    }
    if (updates.length) scheduleFit();
    window.outfield.positionBatches += 1;
    window.outfield.updatesReceived += updates.length;
    window.outfield.lastLatencyMs = nowMs - message.sent_ms;
    renderPanel(nowMs);
  }

  // The worker who now holds the order gets its status; one who lost it (declined, reassigned, done) is freed.
  function applyOrder(order) {
    const nowMs = Date.now();
    for (const [id, w] of fleet.workers) {
      const p = w.props;
      if (id === order.assigned_worker_id && HOLDS_ORDER.includes(order.status)) {
        p.order_status = order.status;
        p.order_id = order.order_id;
      } else if (p.order_id === order.order_id) {
        p.order_status = null;
        p.order_id = null;
      } else {
        continue;
      }
      restyle(id, w, nowMs);
    }
    renderPanel(nowMs);
  }

  // A worker added, edited or (de)activated by an administrator (services/admin_service.py): their marker
  // appears at their home base, "no fix yet", or goes, without a reload. The layer is redrawn from the fleet.
  const WORKERS_LAYER = "workers-layer";  // console/pages/ids.py WORKERS_LAYER
  function applyWorker(message) {
    const id = message.worker_id;
    const w = fleet.workers.get(id);
    const f = message.feature;
    fleet.rows.delete(id);  // its name may have changed: the list draws the row again
    const at = f && f.geometry ? [f.geometry.coordinates[1], f.geometry.coordinates[0]] : null;  // null: listed only
    if (!message.active || !f) {
      if (!w) return;
      fleet.workers.delete(id);
      fleet.markers.delete(id);
    } else if (w && (w.props.untracked || null) !== (f.properties.untracked || null)) {
      // Tracking stopped (consent withdrawn) or started (given): the worker starts afresh at their home base.
      fleet.markers.delete(id);
      fleet.workers.set(id, { props: { ...f.properties }, latlng: at });
    } else if (w) {
      Object.assign(w.props, { name: f.properties.name, team: f.properties.team, skills: f.properties.skills });
      if (!w.props.fix_time) w.latlng = at;  // still at home base
    } else {
      const added = { props: { ...f.properties }, latlng: at };
      const early = fleet.early.get(id);
      if (early) place(added, early);
      fleet.early.delete(id);
      fleet.workers.set(id, added);
    }
    const features = [...fleet.workers.values()].filter((v) => v.latlng).map((v) => ({
      type: "Feature", geometry: { type: "Point", coordinates: [v.latlng[1], v.latlng[0]] }, properties: { ...v.props },
    }));
    window.dash_clientside.set_props(WORKERS_LAYER, { data: { type: "FeatureCollection", features: features } });
    fleet.shown = null;
    schedulePanel();
  }

  function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

  function span(className, text) {
    const node = document.createElement("span");
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function workerRow(id, p) {
    const row = document.createElement("button");
    row.type = "button";
    row.append(span("dot"), span("worker-name", p.name), span("worker-age"));
    // The card is the server's (live.py show_card): selecting is one store update, on a click.
    row.addEventListener("click", () => { window.dash_clientside.set_props(DOM.selected, { data: id }); picked(id); });
    fleet.rows.set(id, row);
    return row;
  }

  // The side panel's worker counts and list, drawn into the containers live.py declares for them.
  function renderPanel(nowMs) {
    const list = document.getElementById(DOM.list);
    const counts = document.getElementById(DOM.counts);
    if (!list || !counts) return;  // Dash has not drawn the page yet
    const n = { idle: 0, en_route: 0, on_site: 0, offline: 0 };
    for (const w of fleet.workers.values()) n[w.props.state] = (n[w.props.state] || 0) + 1;
    if (!counts.childElementCount) {
      for (const k of Object.keys(n)) {
        const box = document.createElement("div");
        box.className = "count count-" + k;
        box.dataset.state = k;
        box.append(span("count-n"), span("count-label", stateWord(k)));
        counts.append(box);
      }
    }
    for (const box of counts.children) setText(box.firstChild, String(n[box.dataset.state] || 0));

    const search = document.getElementById(DOM.search);
    const q = ((search && search.value) || "").trim().toLowerCase();
    const shown = [...fleet.workers.entries()]
      .filter(([, w]) => !q || (w.props.name + " " + (w.props.skills || []).join(" ") + " " + w.props.team).toLowerCase().indexOf(q) >= 0)
      .sort((a, b) => a[1].props.name.localeCompare(b[1].props.name));
    for (const [id, w] of shown) {
      const row = fleet.rows.get(id) || workerRow(id, w.props);
      const className = "worker-row state-" + w.props.state;
      if (row.className !== className) row.className = className;
      setText(row.lastChild, w.props.untracked ? untrackedWords(w.props.untracked) : fmtAge(w.props.fix_time, nowMs));
    }
    const order = shown.map(([id]) => id).join(",");
    if (order !== fleet.shown) {
      list.replaceChildren(...shown.map(([id]) => fleet.rows.get(id)));
      fleet.shown = order;
    }
  }

  let panelQueued = false;
  function schedulePanel() {
    if (panelQueued) return;
    panelQueued = true;
    setTimeout(() => { panelQueued = false; renderPanel(Date.now()); }, 0);
  }

  function refresh() {
    const nowMs = Date.now();
    shiftTurns(nowMs);
    for (const [id, w] of fleet.workers) restyle(id, w, nowMs);
    renderPanel(nowMs);
    renderAlerts();
  }

  // When a worker's shift begins or ends (the snapshot's `tracking_turns_at`, services/geojson.py), the map is read
  // again: the server says who is off shift, so this page's clock only says when to ask. A turn the server has not
  // reached yet (the clocks differ) is asked about again each minute, for ten minutes.
  const TURN_RETRY_MS = 60 * 1000;
  const TURN_GIVE_UP_MS = 10 * 60 * 1000;
  const turns = { askedMs: 0 };
  function shiftTurns(nowMs) {
    let due = false;
    for (const w of fleet.workers.values()) {
      const at = w.props.tracking_turns_at ? Date.parse(w.props.tracking_turns_at) : NaN;
      if (at <= nowMs && nowMs - at < TURN_GIVE_UP_MS) due = true;
    }
    if (!due || nowMs - turns.askedMs < TURN_RETRY_MS) return;
    turns.askedMs = nowMs;
    window.outfield.shiftTurns += 1;
    resync();
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  // The live feed: a Socket.IO connection with the page's session cookie, authorised by the server like
  // any office socket (realtime/sockets.py). Its state reaches the badge through a store, on change only.
  // Every connect, the first included, re-reads the snapshot: what was pushed between the page's load and
  // the connect, or during a gap in the feed, was heard by nobody on this page.
  function startFeed() {
    const say = (connected) => window.dash_clientside.set_props(DOM.feed, { data: { connected: connected } });
    fleet.connection = window.Field.connectSocketIO({}, {
      onEvent: (name, data) => {
        if (name === "positions") applyPositions(data);
        else if (name === "orders" && data && data.order) {
          applyOrder(data.order);
          applyOrderToLayer(data.order);
          refreshCardFor(data.order);
        }
        else if (name === "alert" && data) applyAlert(data);
        else if (name === "worker" && data) {
          if (sync.reading) sync.workers.push(data);  // the snapshot being read may predate it
          applyWorker(data);
        }
        else if (name === "resync") resync();  // the relay's Redis came back: pushes may have been lost
      },
      onState: (connected) => {
        say(connected);
        if (connected) resync();
      },
      onRefused: () => say(false),
    });
  }

  // Re-reading the snapshot: one read at a time, and one more after it when a reconnect or a resync event
  // asked meanwhile, since that read may predate what it missed.
  // Order and worker pushes heard while a read is under way are applied again on top of the snapshot: the
  // snapshot may have been read before them (a worker created then would leave the map again, one deactivated
  // come back).
  const sync = { reading: false, again: false, pending: [], workers: [] };

  // Re-read the snapshot (the same the page loaded with). Positions go to the fleet; the orders layer is
  // replaced in Dash's store, only when it changed.
  function resync() {
    if (sync.reading) { sync.again = true; return; }
    sync.reading = true;
    sync.again = false;
    sync.pending = [];
    sync.workers = [];
    const done = () => {
      sync.reading = false;
      sync.pending = [];
      sync.workers = [];
      if (sync.again) resync();
    };
    fetch("/api/v1/live", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((answer) => (answer.ok ? answer.json() : null))
      .then((snapshot) => {
        if (!snapshot) return done();
        sameFleet(snapshot.workers.features);
        const updates = [];
        for (const f of snapshot.workers.features) {
          const p = f.properties;
          if (!p.fix_time) continue;
          const [lon, lat] = f.geometry.coordinates;
          updates.push({ worker_id: p.worker_id, lat: lat, lon: lon, fix_time: p.fix_time, speed_mps: p.speed_mps,
                         bearing_deg: p.bearing_deg, battery_pct: p.battery_pct, accuracy_m: p.accuracy_m });
        }
        applyPositions({ updates: updates, sent_ms: Date.now() });
        for (const f of snapshot.workers.features) {  // tracking stopped or started meanwhile: as a push would
          const w = fleet.workers.get(f.properties.worker_id);
          if (w && (w.props.untracked || null) !== (f.properties.untracked || null)) {
            applyWorker({ worker_id: f.properties.worker_id, active: true, feature: f });
          }
        }
        for (const m of sync.workers) applyWorker(m);
        const nowMs = Date.now();
        for (const f of snapshot.workers.features) {  // the order each worker holds now (some may have closed)
          const w = fleet.workers.get(f.properties.worker_id);
          if (!w) continue;
          w.props.order_status = f.properties.order_status;
          w.props.order_id = f.properties.order_id;
          restyle(f.properties.worker_id, w, nowMs);
        }
        let orders = snapshot.orders;
        for (const o of sync.pending) {
          orders = mergeOrder(orders, o);
          applyOrder(o);
        }
        renderPanel(nowMs);
        const layer = window.dash_component_api && window.dash_component_api.getLayout(ORDERS_LAYER);
        const shown = layer && layer.props ? layer.props.data : null;
        if (!shown || JSON.stringify(shown) !== JSON.stringify(orders)) {
          window.dash_clientside.set_props(ORDERS_LAYER, { data: orders });
        }
        loadAlerts();
        window.outfield.resyncs += 1;
        done();
      })
      .catch(() => done());  // the next connect tries again
  }

  // A pushed order onto the orders layer, every one of them: this script's socket hears each push, where
  // the DashSocketIO component's prop keeps only the last of a burst (Dash runs a callback once for a
  // prop set twice before it ran: a batch assignment's pushes come together).
  function applyOrderToLayer(o) {
    if (sync.reading) sync.pending.push(o);  // the snapshot being read may predate it
    const layer = window.dash_component_api.getLayout(ORDERS_LAYER);
    const data = layer && layer.props ? layer.props.data : null;
    if (!data) return;
    const before = data.features.find((f) => f.properties.order_id === o.order_id);
    // A suspicious check-in stays flagged on this screen when later pushes (a check-out) carry no flag.
    if (!o.flag && before && before.properties.flag) o = { ...o, flag: before.properties.flag };
    if (restyleOrder(before, o)) {
      // Only its status, worker or flag changed: the marker is restyled in place and the layer's data
      // updated under it, so dash-leaflet does not redraw thousands of markers for one order.
      before.properties = o;
      window.dash_clientside.set_props(ORDERS_CHANGED, { data: Date.now() });
      window.outfield.ordersRestyled += 1;
      return;
    }
    window.dash_clientside.set_props(ORDERS_LAYER, { data: mergeOrder(data, o) });
  }

  // The fleet as the snapshot has it: workers gone from it (their team left the dispatcher's scope, or they
  // were deactivated while the feed was down) leave the map and the list, new ones join at their place.
  function sameFleet(features) {
    const seen = new Set(features.map((f) => f.properties.worker_id));
    for (const id of [...fleet.workers.keys()]) {
      if (seen.has(id)) continue;
      fleet.workers.delete(id);
      fleet.markers.delete(id);
      fleet.rows.delete(id);
      fleet.shown = null;
    }
    for (const f of features) {
      if (fleet.workers.has(f.properties.worker_id)) continue;
      const at = f.geometry ? [f.geometry.coordinates[1], f.geometry.coordinates[0]] : null;  // null: listed only
      fleet.workers.set(f.properties.worker_id, { props: { ...f.properties }, latlng: at });
      fleet.shown = null;
    }
    // The layer is redrawn only when the workers on the map differ from those in its data (drawn, or about to be:
    // its markers may not exist yet), never for the same ones: a redraw races the first drawing.
    const layer = window.dash_component_api.getLayout(WORKERS_LAYER);
    const data = (layer && layer.props && layer.props.data && layer.props.data.features) || [];
    const onMap = (list) => list.filter((f) => f.geometry).map((f) => f.properties.worker_id).sort((a, b) => a - b).join();
    if (onMap(data) === onMap(features)) return;
    const drawn = features.filter((f) => f.geometry).map((f) => {
      const w = fleet.workers.get(f.properties.worker_id);
      if (!w || !w.latlng) return f;
      return { type: "Feature", geometry: { type: "Point", coordinates: [w.latlng[1], w.latlng[0]] }, properties: { ...w.props } };
    });
    window.dash_clientside.set_props(WORKERS_LAYER, { data: { type: "FeatureCollection", features: drawn } });
  }

  // One pushed order into a layer's data (a new object; the feature replaced, or gone without a place).
  function mergeOrder(data, o) {
    const before = data.features.find((f) => f.properties.order_id === o.order_id);
    if (!o.flag && before && before.properties.flag) o = { ...o, flag: before.properties.flag };
    const features = data.features.filter((f) => f.properties.order_id !== o.order_id);
    if (o.lat !== undefined && o.lat !== null) {
      features.push({ type: "Feature", geometry: { type: "Point", coordinates: [o.lon, o.lat] }, properties: o });
    }
    return { ...data, features: features };
  }

  // Dash draws the page after load: start once the side panel exists (it never does for a refused role).
  function whenDrawn(start) {
    if (document.getElementById(DOM.list)) return start();
    const observer = new MutationObserver(() => {
      if (!document.getElementById(DOM.list)) return;
      observer.disconnect();
      start();
    });
    observer.observe(document.documentElement, { childList: true, subtree: true });
  }

  const socketClient = window.Field && window.Field.connectSocketIO ? Promise.resolve() : loadScript(SOCKET_CLIENT);
  whenDrawn(() => {
    renderPanel(Date.now());
    setInterval(refresh, PANEL_REFRESH_MS);
    // The search box filters the list as the dispatcher types, here: no Dash callback reads it.
    document.addEventListener("input", (event) => { if (event.target.id === DOM.search) renderPanel(Date.now()); });
    socketClient.then(startFeed, () => window.dash_clientside.set_props(DOM.feed, { data: { connected: false } }));
  });

  // ---- The exceptions panel (live.py alerts_panel): the open alerts, most severe first, then newest.
  // Read from /api/v1/alerts when the feed connects, then kept current by the socket's "alert" pushes
  // (raised, acknowledged, cleared). Every text is set as text: reasons and notes may hold anything.
  const ALERT_DOM = { list: "alerts-list", count: "alerts-count", tab: "active-tab", order: "selected-order" };
  const KIND_LABELS = {
    sos: N_("SOS"), mock_location: N_("Mock location"), impossible_jump: N_("Impossible jump"),
    low_battery: N_("Low battery"), offline: N_("Offline"), late_risk: N_("Late risk"), off_route: N_("Off route"),
    long_stop: N_("Long stop"), suspicious_check_in: N_("Suspicious check-in"),
    left_site_without_check_out: N_("Left site without check-out"),
  };
  // `heard`: the pushes that arrived while the latest read was under way (null when none is), applied again on top
  // of the list read, which may predate them: an alert raised then would vanish, one cleared then come back. A read
  // overtaken by a newer one is dropped.
  const alerts = { open: new Map(), items: new Map(), shown: null, heard: null };

  function loadAlerts() {
    const heard = [];
    alerts.heard = heard;
    const over = () => { if (alerts.heard === heard) alerts.heard = null; };
    fetch("/api/v1/alerts?status=open", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((answer) => (answer.ok ? answer.json() : null))
      .then((list) => {
        if (alerts.heard !== heard) return;
        over();
        if (!list) return;
        alerts.open = new Map(list.map((a) => [a.id, a]));
        for (const a of heard) keepAlert(a);
        renderAlerts();
        scheduleDeclutter();
        window.outfield.alertReads += 1;
      })
      .catch(over);  // the next connect reads them again
  }

  function applyAlert(a) {
    if (alerts.heard) alerts.heard.push(a);
    keepAlert(a);
    renderAlerts();
    scheduleDeclutter(); // a worker with an exception keeps their name on the map
  }

  function keepAlert(a) {
    if (a.status === "open") alerts.open.set(a.id, a);
    else alerts.open.delete(a.id);
  }

  function workerName(id) {
    const w = fleet.workers.get(id);
    return w ? w.props.name : (id === null || id === undefined ? "" : "worker " + id);
  }

  function focusWorker(id) {
    view.userMoved = true;  // the dispatcher chose this view: no refit takes it away
    const marker = fleet.markers.get(id);
    if (marker && marker._map) marker._map.setView(marker.getLatLng(), Math.max(marker._map.getZoom(), 17));
    window.dash_clientside.set_props(ALERT_DOM.tab, { data: "workers" });
    window.dash_clientside.set_props(DOM.selected, { data: id });
    picked(id);
  }

  // The order's card in the orders tab: its candidates, to assign it to someone else.
  function openOrder(orderId) {
    window.dash_clientside.set_props(ALERT_DOM.order, { data: { order_id: orderId } });
    window.dash_clientside.set_props(ALERT_DOM.tab, { data: "orders" });
  }

  function acknowledge(a, note, say) {
    if (!note.value.trim()) { say(_("Write a note first: what was done?")); note.focus(); return; }
    fetch("/api/v1/alerts/" + a.id + "/ack", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ note: note.value }),
    })
      .then((answer) => answer.json().then((body) => ({ ok: answer.ok, body: body })))
      .then(({ ok, body }) => (ok ? applyAlert(body) : say(body.error || _("not acknowledged"))))
      .catch(() => say(_("not acknowledged: the server did not answer")));
  }

  function alertItem(a) {
    const item = document.createElement("li");
    item.className = "alert-item alert-sev-" + a.severity + " alert-kind-" + a.kind;
    item.dataset.alertId = String(a.id);
    const head = document.createElement("button");
    head.type = "button";
    head.className = "alert-focus";
    head.title = _("Show the worker on the map");
    head.append(span("alert-kind", KIND_LABELS[a.kind] ? _(KIND_LABELS[a.kind]) : a.kind), span("alert-worker", workerName(a.worker_id)),
                span("alert-age"));
    head.addEventListener("click", () => focusWorker(a.worker_id));
    const reason = span("alert-reason", reasonText(a.reason));
    const message = span("alert-message");
    const say = (text) => { message.textContent = text; };
    const actions = document.createElement("div");
    actions.className = "alert-actions";
    const note = document.createElement("input");
    note.type = "text";
    note.className = "alert-note";
    note.placeholder = _("Note");
    note.maxLength = 2000;
    const ack = document.createElement("button");
    ack.type = "button";
    ack.className = "alert-ack";
    ack.textContent = _("Acknowledge");
    ack.addEventListener("click", () => acknowledge(a, note, say));
    note.addEventListener("keydown", (event) => { if (event.key === "Enter") acknowledge(a, note, say); });
    actions.append(note, ack);
    if (a.order_id !== null && a.order_id !== undefined) {
      const reassign = document.createElement("button");
      reassign.type = "button";
      reassign.className = "alert-reassign";
      reassign.textContent = _("Reassign #{id}", { id: a.order_id });
      reassign.addEventListener("click", () => openOrder(a.order_id));
      actions.append(reassign);
    }
    item.append(head, reason, actions, message);
    return item;
  }

  function renderAlerts() {
    const list = document.getElementById(ALERT_DOM.list);
    const count = document.getElementById(ALERT_DOM.count);
    if (!list || !count) return;
    const nowMs = Date.now();
    const open = [...alerts.open.values()].sort((x, y) =>
      x.severity - y.severity || Date.parse(y.raised_at) - Date.parse(x.raised_at) || y.id - x.id);
    for (const id of alerts.items.keys()) if (!alerts.open.has(id)) alerts.items.delete(id);
    for (const a of open) {
      let item = alerts.items.get(a.id);
      if (!item) { item = alertItem(a); alerts.items.set(a.id, item); }
      setText(item.querySelector(".alert-worker"), workerName(a.worker_id));
      setText(item.querySelector(".alert-age"), fmtAge(a.raised_at, nowMs));
    }
    const order = open.map((a) => a.id).join(",");
    if (order !== alerts.shown) {
      list.replaceChildren(...open.map((a) => alerts.items.get(a.id)));
      alerts.shown = order;
    }
    setText(count, String(open.length));
    const className = "alerts-badge" + (open.length ? (open[0].severity <= 1 ? " alerts-critical" : " alerts-some") : " alerts-none");
    if (count.className !== className) count.className = className;
    window.outfield.alertsShown = open.length;
  }

  function el(type, props) { return { type: type, namespace: "dash_html_components", props: props }; }

  function fmtAge(iso, nowMs) {
    if (!iso) return _("no fix yet");
    const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
    if (s < 60) return _("{n} s ago", { n: s });
    if (s < 3600) return _("{n} min ago", { n: Math.floor(s / 60) });
    return _("{n} h ago", { n: Math.floor(s / 3600) });
  }


  // ---- The order panel (console/pages/orders.py): tabs, the open orders, selections, highlights.
  const OPEN_ORDER = ["new", "assigned", "accepted", "en_route", "on_site"];
  const TABS = ["workers", "orders", "new"];
  const NO = () => window.dash_clientside.no_update;
  const orderCache = { list: null, head: null, tab: null, target: null, nearOrder: null };

  function pad2(n) { return String(n).padStart(2, "0"); }
  // The page's words in its language: the wall's data-messages ({English: translation}, console/i18n.py); `N_`
  // marks words defined ahead of use for `pybabel extract`, `t` translates them where they are shown.
  var messages = null;
  function N_(message) { return message; }
  function catalogue() {
    if (messages === null) {
      const wall = document.getElementById("wall");
      if (wall) { try { messages = JSON.parse(wall.dataset.messages || "{}"); } catch (e) { messages = {}; } }
    }
    return messages || {};
  }
  function _(message, params) {
    const text = catalogue()[message] || message;
    return params ? text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m)) : text;
  }

  // A reason the server words in English for a person (an alert's, dispatch/alerts.py; a flagged check-in's) in the
  // page's language: console/i18n.py's translate_reason, over the reason templates the wall carries in the order it
  // tries them (data-reason-templates). The whole reason, then after a "field: " prefix, a figure with its units,
  // the templates (the parts they name translated in turn); a reason the catalogue does not know stays English.
  var reasonPatterns = null;
  const UNIT_WORDS = { km: "{n} km", m: "{n} m", min: "{n} min", s: "{n} s", h: "{n} h", d: "{n} d" };
  const QUANTITY = /^\d+(?:\.\d+)? (?:km|m|min|s|h|d)(?: \d+ (?:min|s|h))?$/;
  function patterns() {
    if (reasonPatterns !== null) return reasonPatterns;
    const wall = document.getElementById("wall");
    let names = [];
    try { names = JSON.parse((wall && wall.dataset.reasonTemplates) || "[]"); } catch (e) { names = []; }
    const known = catalogue();
    reasonPatterns = names.filter((t) => known[t]).map((t) => {
      const keys = [];
      const source = t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\\\{(\w+)\\\}/g, (m, k) => { keys.push(k); return "([\\s\\S]+?)"; });
      return { re: new RegExp("^" + source + "$"), keys: keys, to: known[t] };
    });
    return reasonPatterns;
  }
  function reasonText(text) {
    const known = catalogue();
    if (!text || !Object.keys(known).length) return text;
    if (known[text]) return known[text];
    const colon = text.indexOf(": ");
    if (colon > 0 && text.slice(0, colon).indexOf(" ") < 0) {
      const rest = text.slice(colon + 2), translated = reasonText(rest);
      if (translated !== rest) return text.slice(0, colon) + ": " + translated;
    }
    if (QUANTITY.test(text)) return text.replace(/(\d+(?:\.\d+)?) (km|m|min|s|h|d)\b/g, (m, n, unit) => _(UNIT_WORDS[unit], { n: n }));
    for (const p of patterns()) {
      const found = p.re.exec(text);
      if (found) return p.to.replace(/\{(\w+)\}/g, (m, k) => (p.keys.indexOf(k) < 0 ? m : reasonPart(found[p.keys.indexOf(k) + 1])));
    }
    return text;
  }
  function reasonPart(text) {
    const translated = reasonText(text);
    if (translated !== text || text.indexOf(", ") < 0) return translated;
    const words = text.split(", "), turned = words.map(reasonText);
    return turned.some((w, i) => w === words[i]) ? text : turned.join(catalogue()[", "] || ", ");
  }

  // Times on the office's clock (OUTFIELD_TIMEZONE, on the wall's data-timezone; console/i18n.py).
  // One formatter per zone, kept: making an Intl.DateTimeFormat costs far more than using one, and the order list
  // formats two times per order (bench/README.md, "The dispatcher's console").
  const officeFormats = new Map();
  function officeZone() {
    const wall = document.getElementById("wall");
    return (wall && wall.dataset.timezone) || "UTC";
  }
  function officeParts(d) {
    const zone = officeZone();
    let format = officeFormats.get(zone);
    if (!format) {
      format = new Intl.DateTimeFormat("en-CA", {
        timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
      });
      officeFormats.set(zone, format);
    }
    const parts = {};
    for (const p of format.formatToParts(d)) parts[p.type] = p.value;
    return parts;
  }
  function officeTime(d) { const p = officeParts(d); return p.hour + ":" + p.minute; }

  function siteName(p) {
    if (p.site_name) return p.site_name;
    const parts = (p.label || "").split(" · ");  // "type · site · status" (services/geojson.py)
    return parts.length >= 3 ? parts.slice(1, -1).join(" · ") : (p.label || "");
  }

  const windowTexts = new Map();  // "zone|start|end" -> "09:00–11:00": orders share a few windows
  function windowText(p) {
    if (!p.window_start || !p.window_end) return null;
    const key = officeZone() + "|" + p.window_start + "|" + p.window_end;
    let text = windowTexts.get(key);
    if (text === undefined) {
      text = officeTime(new Date(p.window_start)) + "–" + officeTime(new Date(p.window_end));
      windowTexts.set(key, text);
    }
    return text;
  }

  function workerNames(workers) {
    const names = {};
    for (const f of (workers && workers.features) || []) names[f.properties.worker_id] = f.properties.name;
    return names;
  }

  function selectedId(selected) { return selected && selected.order_id !== undefined ? selected.order_id : null; }

  // A pushed order that is the one on the card: redraw the card (and its field record), unless the push is
  // the echo of this screen's own Assign or Cancel, whose click already redraws it. The echo may come before
  // the click's answer (the socket is quicker than the callback under load): an Assign clicked here and not
  // answered yet counts as this screen's own too, else the card was ranked and drawn twice per Assign.
  //
  // This one listener is also how an Assign click (a candidate's or who-is-near's) reaches the server: it writes
  // the button's id into the ASSIGN_CLICK store, the act_on_order callback's input. The buttons themselves are
  // no Dash inputs, so drawing a card with its 20 buttons sends no request that does nothing.
  const OWN_CLICK_MS = 30000;
  const ownAssign = { orderId: null, workerId: null, atMs: 0 };
  let assignClicks = 0;
  document.addEventListener("click", (event) => {
    const button = event.target && event.target.closest ? event.target.closest("#order-detail button.assign") : null;
    if (!button) return;
    let id = null;
    try { id = JSON.parse(button.id); } catch (e) { return; }  // Dash writes a pattern-matching id as JSON
    if (!id || typeof id.index !== "number") return;
    const store = window.dash_component_api && window.dash_component_api.getLayout(ORDER_DOM.selected);
    const orderId = selectedId(store && store.props ? store.props.data : null);
    if (orderId !== null) Object.assign(ownAssign, { orderId: orderId, workerId: id.index, atMs: Date.now() });
    assignClicks += 1;
    window.dash_clientside.set_props(ORDER_DOM.assign, { data: { type: id.type, index: id.index, click: assignClicks } });
  }, true);

  // The card's candidates and excluded workers come as one element each whose `data-rows` (and `data-labels`) live.js
  // draws as rows, each text set as text (console/pages/orders/assignment.py candidate_list, detail.py excluded_list):
  // one Dash component per list instead of ~7 per row (bench/README.md, "The dispatcher's console"). React leaves
  // the element's children alone (it has none of its own), and redraws nothing when the same rows come again.
  function span(className, text) {
    const node = document.createElement("span");
    node.className = className;
    node.textContent = text;
    return node;
  }
  function candidateRow(r, labels) {
    const item = document.createElement("li");
    item.className = "candidate" + (r.best ? " best" : "") + (r.current ? " current" : "");
    const facts = span("cand-facts", "");
    facts.append(span("cand-eta", r.eta), span("cand-score", r.score));
    facts.lastChild.title = labels.score_title;
    if (r.late) facts.append(span("cand-late", r.late));
    item.append(span("cand-rank", String(r.rank)), span("cand-name", r.name), facts);
    if (r.current) item.append(span("cand-current", labels.assigned));
    else if (labels.button_type) {
      const button = document.createElement("button");
      button.id = JSON.stringify({ index: r.worker_id, type: labels.button_type });  // as Dash writes it: the listener
      button.className = r.best ? "assign primary" : "assign";
      button.title = r.best ? labels.best_title : labels.override_title;
      button.textContent = labels.assign;
      item.append(button);
    }
    return item;
  }
  function excludedRow(r) {
    const item = document.createElement("li");
    item.append(span("ex-name", r[0]), span("ex-reason", r[1]));
    return item;
  }
  function drawRows(list) {
    const json = list.getAttribute("data-rows");
    const words = list.getAttribute("data-labels");
    if (list.drawnRows === json && list.drawnLabels === words) return;
    Object.assign(list, { drawnRows: json, drawnLabels: words });
    let rows = [];
    let labels = null;
    try { rows = JSON.parse(json) || []; labels = JSON.parse(words || "null"); } catch (e) { rows = []; }
    list.replaceChildren(...rows.map((r) => (labels ? candidateRow(r, labels) : excludedRow(r))));
  }
  // Only the card's two containers are watched (from `orders.panel`, which runs on load and on every selection, so
  // before a card arrives): a watch over the whole page cost its build (markers, labels, the lists) 20-30 ms.
  const CARD_LISTS = ["order-card", "order-excluded"];  // console/pages/ids.py ORDER_CARD, ORDER_EXCLUDED
  const watchedLists = new WeakSet();
  const cardLists = new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "attributes") { if (record.target.hasAttribute("data-rows")) drawRows(record.target); continue; }
      for (const node of record.addedNodes) {
        if (node.nodeType !== 1) continue;
        if (node.hasAttribute("data-rows")) drawRows(node);
        else if (node.firstElementChild) node.querySelectorAll("[data-rows]").forEach(drawRows);
      }
    }
  });
  function watchCardLists() {
    for (const id of CARD_LISTS) {
      const box = document.getElementById(id);
      if (!box || watchedLists.has(box)) continue;
      watchedLists.add(box);
      box.querySelectorAll("[data-rows]").forEach(drawRows);
      cardLists.observe(box, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-rows", "data-labels"] });
    }
  }

  function ownEcho(o, n) {
    if (n && n.kind === "assigned" && o.status === "assigned" && o.assigned_worker_id === n.worker_id) return true;
    if (n && n.kind === "cancelled" && o.status === "cancelled") return true;
    const pending = ownAssign.orderId === o.order_id && o.status === "assigned" && o.assigned_worker_id === ownAssign.workerId
      && Date.now() - ownAssign.atMs < OWN_CLICK_MS;
    if (pending) ownAssign.orderId = null;  // one echo per click
    return pending;
  }

  function refreshCardFor(o) {
    const store = window.dash_component_api.getLayout(ORDER_DOM.selected);
    const selected = store && store.props ? store.props.data : null;
    if (o.order_id !== selectedId(selected)) return;
    if (ownEcho(o, selected.notice)) return;
    window.dash_clientside.set_props(ORDER_DOM.refresh, { data: Date.now() });
  }

  function sameAs(key, value) {
    const json = JSON.stringify(value);
    if (orderCache[key] === json) return true;
    orderCache[key] = json;
    return false;
  }

  // The open orders, drawn into the list container live.py declares, outside Dash's store (like the
  // worker list): one plain button per order, kept by id and updated in place, so a pushed change or
  // a selection touches a row or two and never re-renders thousands of Dash components.
  const orderRows = new Map();  // order_id -> { node, key }
  let orderListShown = null;

  function orderRowKey(p, who, selected) {
    return [p.status, p.priority, p.type, siteName(p), windowText(p), who, p.flag || "", p.order_id === selected].join("|");
  }

  function fillOrderRow(node, p, who, selected) {
    const sub = ["P" + p.priority, windowText(p), who].filter((x) => x).join(" · ");
    const main = span("order-main");
    main.append(span("order-title", "#" + p.order_id + " " + typeWord(p.type) + " · " + siteName(p)), span("order-sub", sub));
    // A check-in the server could not verify: said in words on the row, not only by the marker's ring.
    if (p.flag) main.append(span("order-flag", "⚠ " + reasonText(p.flag)));
    node.className = "order-row status-" + p.status + (p.order_id === selected ? " selected" : "") + (p.flag ? " flagged" : "");
    if (p.flag) node.title = "⚠ " + reasonText(p.flag); else node.removeAttribute("title");
    node.replaceChildren(span("dot"), main, span("order-status", stateWord(p.status)));
  }

  // Put the list's rows in the wanted order by moving as few as possible: the rows already in order (the
  // longest run of them, by position) stay, the others are inserted before their successor. An Assign that
  // moves one order down the list moves that one row, so the other 2,000 keep their layout, their style and
  // the keyboard's focus (replaceChildren took every row out and put it back).
  function placeRows(list, nodes) {
    const want = new Map(nodes.map((n, i) => [n, i]));
    for (const child of [...list.children]) if (!want.has(child)) child.remove();
    const at = [...list.children].map((child) => want.get(child));
    const tails = [];  // longest increasing run of wanted positions: tails[k] = index in `at` ending a run of k+1
    const prev = new Array(at.length).fill(-1);
    for (let i = 0; i < at.length; i++) {
      let lo = 0, hi = tails.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (at[tails[mid]] < at[i]) lo = mid + 1; else hi = mid; }
      if (lo > 0) prev[i] = tails[lo - 1];
      tails[lo] = i;
    }
    const stays = new Set();
    for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = prev[i]) stays.add(nodes[at[i]]);
    for (let i = nodes.length - 1; i >= 0; i--) {
      if (stays.has(nodes[i])) continue;
      const next = i + 1 < nodes.length ? nodes[i + 1] : null;
      list.insertBefore(nodes[i], next);
    }
  }

  function drawOrderList(open, names, selected) {
    const list = document.getElementById("order-list");
    if (!list) return;
    const seen = new Set();
    for (const p of open) {
      const who = p.assigned_worker_id !== null && p.assigned_worker_id !== undefined
        ? (names[p.assigned_worker_id] || _("worker {id}", { id: p.assigned_worker_id })) : _("unassigned");
      const key = orderRowKey(p, who, selected);
      let row = orderRows.get(p.order_id);
      if (!row) {
        const node = document.createElement("button");
        node.type = "button";
        const id = p.order_id;
        node.addEventListener("click", () => window.dash_clientside.set_props("selected-order", { data: { order_id: id } }));
        row = { node: node, key: null };
        orderRows.set(id, row);
      }
      if (row.key !== key) { fillOrderRow(row.node, p, who, selected); row.key = key; }
      seen.add(p.order_id);
    }
    for (const id of [...orderRows.keys()]) if (!seen.has(id)) orderRows.delete(id);
    const shown = open.length ? open.map((p) => p.order_id).join(",") : "none";
    if (shown !== orderListShown || list.childElementCount !== Math.max(1, open.length)) {
      if (open.length) placeRows(list, open.map((p) => orderRows.get(p.order_id).node));
      else { const none = document.createElement("p"); none.className = "muted"; none.textContent = "No open orders."; list.replaceChildren(none); }
      orderListShown = shown;
    }
  }

  function orderClass(p) {
    return "order-marker order-" + p.status + " order-id-" + p.order_id + (p.flag ? " order-flagged" : "");
  }

  // "#12", or on hover "repair · Casino · assigned", in the page's language (the feature's `label` is English).
  function orderLabel(p, permanent) {
    const text = permanent ? "#" + p.order_id : [typeWord(p.type), siteName(p), stateWord(p.status)].join(" · ");
    return label(p.flag ? text + " · ⚠ " + reasonText(p.flag) : text);
  }

  // An open order that stays open at the same place: restyle its marker (colour, classes, label) in place.
  function restyleOrder(before, o) {
    if (!before || OPEN_ORDER.indexOf(o.status) < 0 || o.lat === undefined || o.lat === null) return false;
    const [lon, lat] = before.geometry.coordinates;
    const marker = view.orderMarkers.get(o.order_id);
    if (lon !== o.lon || lat !== o.lat || !marker || !marker._map) return false;
    marker.options.className = orderClass(o);
    marker.setStyle({ fillColor: ORDER_COLOURS[o.status] || "#9ca3af" });
    const path = marker.getElement();
    if (path) path.setAttribute("class", orderClass(o) + " leaflet-interactive");
    if (marker.getTooltip()) marker.setTooltipContent(orderLabel(o, labelsOn("orderLabels")));
    return true;
  }

  const orders = {
    chooseTab: function () {
      const ctx = window.dash_clientside.callback_context;
      if (!ctx.triggered.length || !ctx.triggered[0].value) return NO();
      const id = ctx.triggered[0].prop_id.split(".")[0];
      return { "tab-workers": "workers", "tab-orders": "orders", "tab-new-order": "new" }[id] || NO();
    },
    showTab: function (tab) {
      const t = TABS.indexOf(tab) >= 0 ? tab : "workers";
      return [
        "wall tab-" + t,
        ...TABS.map((k) => "tab" + (k === t ? " tab-active" : "")),
        ...TABS.map((k) => "pane" + (k === t ? "" : " pane-hidden")),
      ];
    },
    panel: function (ordersData, workers, selected) {
      watchCardLists();
      const names = workerNames(workers);
      const sel = selectedId(selected);
      const feats = ((ordersData && ordersData.features) || []).map((f) => f.properties);
      const open = feats.filter((p) => OPEN_ORDER.indexOf(p.status) >= 0).sort((a, b) =>
        (a.status === "new" ? 0 : 1) - (b.status === "new" ? 0 : 1) || a.priority - b.priority || a.order_id - b.order_id);
      drawOrderList(open, names, sel);
      const waiting = open.filter((p) => p.status === "new").length;
      const newOnes = _(" ({n} new)", { n: waiting });
      const tabLabel = _("Orders") + (open.length ? " · " + open.length : "") + (waiting ? newOnes : "");
      let head;
      if (sel === null) {
        head = el("P", { className: "muted", children: _("Select an order in the list or on the map.") });
      } else {
        const p = feats.find((q) => q.order_id === sel);
        head = [
          el("H2", { children: "#" + sel + (p ? " · " + siteName(p) : "") }),
          p ? el("Span", { className: "status-pill status-" + p.status, children: stateWord(p.status) }) : null,
          p && p.flag ? el("P", { className: "flag-banner", role: "alert", children: "⚠ " + p.flag }) : null,
        ];
      }
      return [
        sameAs("head", head) ? NO() : head,
        sameAs("tab", tabLabel) ? NO() : tabLabel,
      ];
    },
    // The answer to an Assign or Cancel click (ORDER_ACTION): the selection, with its notice, while its order is still
    // the one selected; else nothing, as the dispatcher has opened another order meanwhile (the card stays theirs).
    actionAnswer: function (answer, selected) {
      if (!answer) return NO();
      window.outfield.actionAnswers += 1;
      if (selectedId(selected) === answer.order_id) return answer;
      if (ownAssign.orderId === answer.order_id) ownAssign.orderId = null;  // its echo redraws no card now
      return NO();
    },
    // What a click on the card just did, said at once from the click's own answer (the card redraws after).
    notice: function (selected, workers) {
      const n = selected && selected.notice;
      if (!n) return NO();
      ownAssign.orderId = null;  // the click is answered: its notice says whose it was (refreshCardFor)
      if (n.kind === "assigned") {
        const name = workerNames(workers)[n.worker_id] || _("the worker");
        return el("P", { className: "ok", children: _("Assigned to {name}.", { name: name }) });
      }
      if (n.kind === "cancelled") return el("P", { className: "ok", children: _("Order cancelled.") });
      if (n.kind === "refused") return el("P", { className: "error", children: reasonText(String(n.text || "")) });
      return NO();
    },
    selectFromMap: function (feature) {
      if (!feature || !feature.properties || feature.properties.order_id === undefined) return [NO(), NO()];
      return [{ order_id: feature.properties.order_id }, "orders"];
    },
    workerClicked: function (feature) {
      return feature && feature.properties ? "workers" : NO();
    },
    // 'Show all …' on a long card: the selected order's card lists every worker from now on.
    showAll: function (candidates, excluded, selected) {
      const ctx = window.dash_clientside.callback_context;
      if (!ctx.triggered.length || !ctx.triggered[0].value || selectedId(selected) === null) return NO();
      return { order_id: selectedId(selected) };
    },
    clearReason: function () { return ""; },
    skillOptions: function (workers, current) {
      const skills = new Set();
      for (const f of (workers && workers.features) || []) for (const s of f.properties.skills || []) skills.add(s);
      const options = Array.from(skills).sort();
      return JSON.stringify(options) === JSON.stringify(current || []) ? NO() : options;
    },
    siteFromMap: function (feature) {
      return feature && feature.properties && feature.properties.site_id !== undefined ? feature.properties.site_id : NO();
    },
    highlight: function (tab, selected, ordersData, siteId, sites) {
      const features = [];
      const ring = (f, kind) => features.push({ type: "Feature", geometry: f.geometry, properties: { kind: kind } });
      if (tab === "new" && siteId !== null && siteId !== undefined) {
        const f = ((sites && sites.features) || []).find((s) => s.properties.site_id === siteId);
        if (f) ring(f, "site");
      }
      const sel = selectedId(selected);
      if (tab === "orders" && sel !== null) {
        const f = ((ordersData && ordersData.features) || []).find((o) => o.properties.order_id === sel);
        if (f) ring(f, "order");
      }
      return { type: "FeatureCollection", features: features };
    },
    // Who is near: the selected order's site (where the map draws it), and the form's defaults per order.
    nearTarget: function (selected, ordersData) {
      const sel = selectedId(selected);
      const f = sel === null ? null : ((ordersData && ordersData.features) || []).find((o) => o.properties.order_id === sel);
      const target = f ? { order_id: sel, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] } : null;
      return sameAs("target", target) ? NO() : target;
    },
    nearDefaults: function (defaults, skills, n, found) {
      // Reset the form only when another order is shown, not on every refresh of the same one; and only the parts
      // that differ (an unchanged dropdown, count or empty list is not redrawn after each card).
      if (!defaults || defaults.order_id === orderCache.nearOrder) return [NO(), NO(), NO()];
      orderCache.nearOrder = defaults.order_id;
      const wanted = defaults.skills || [];
      return [
        JSON.stringify(wanted) === JSON.stringify(skills || []) ? NO() : wanted,
        n === 5 ? NO() : 5,
        found === null || found === undefined ? NO() : null,
      ];
    },
    nearSkillOptions: function (workers, defaults, current) {
      const skills = new Set((defaults && defaults.skills) || []);
      for (const f of (workers && workers.features) || []) for (const s of f.properties.skills || []) skills.add(s);
      const options = Array.from(skills).sort();
      return JSON.stringify(options) === JSON.stringify(current || []) ? NO() : options;
    },
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    orders: orders,
    live: {
      // "live" while this script's socket is up.
      badge: function (feed) {
        const live = Boolean(feed && feed.connected);
        return [live ? _("live") : _("reconnecting…"), live ? "conn conn-live" : "conn conn-down"];
      },
      openOrders: function (orders) {
        const open = ((orders && orders.features) || []).filter((f) => OPEN_ORDER.indexOf(f.properties.status) >= 0);
        return String(open.length);
      },
      selectFromMap: function (feature) {
        if (!feature || !feature.properties) return window.dash_clientside.no_update;
        picked(feature.properties.worker_id);
        return feature.properties.worker_id;
      },
      // The worker card's push link: copy it to the clipboard, or select it for Ctrl+C where the
      // browser gives no clipboard (a plain-http wall screen is not a secure context).
      copyLink: function (clicks) {
        if (!clicks) return window.dash_clientside.no_update;
        const node = document.getElementById("push-url");
        if (!node) return window.dash_clientside.no_update;
        const text = node.textContent;
        const selectIt = () => {
          const range = document.createRange();
          range.selectNodeContents(node);
          const selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        };
        const say = (words) => window.dash_clientside.set_props("push-copy", { children: words });
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(() => say("Copied ✓"), () => { selectIt(); say("Selected: press Ctrl+C"); });
          return "Copying…";
        }
        selectIt();
        let copied = false;
        try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
        return copied ? "Copied ✓" : "Selected: press Ctrl+C";
      },
    },
  });

  // Functions the map layers name through dash_extensions.javascript.Namespace("outfield").
  window.outfield = {
    positionBatches: 0,  // position batches applied straight to the map (tests read it)
    updatesReceived: 0,
    lastLatencyMs: null,
    resyncs: 0,  // snapshots re-read on a connect or after a gap in the feed (tests read it)
    shiftTurns: 0,  // snapshots re-read because a worker's shift began or ended (tests read it)
    checkTurns: function (nowMs) { shiftTurns(nowMs); },  // the turn check at a given time (tests call it)
    alertsShown: 0,  // open alerts in the exceptions panel (tests read it)
    alertReads: 0,  // open-alert lists read and applied (tests read it)
    fitted: false,  // the map's view was fitted to every worker and open order (tests read it)
    ordersRestyled: 0,  // pushed order changes applied to their marker in place (no layer redraw)
    actionAnswers: 0,  // answers to Assign and Cancel clicks handled (tests read it)
    // Where a worker's marker is drawn, [lat, lon] (tests read it: the SVG path moves with every refit of the view).
    markerAt: function (id) {
      const marker = fleet.markers.get(id);
      if (!marker) return null;
      const at = marker.getLatLng();
      return [at.lat, at.lng];
    },
    fits: 0,
    declutters: 0,  // passes over the crowded labels (tests wait for one)
    reasonText: reasonText,  // a server's English reason in the page's language (tests hold it to console/i18n.py's)
    workerMarker: workerMarker,
    orderMarker: function (feature, latlng) {
      const p = feature.properties;
      const marker = L.circleMarker(latlng, {
        radius: 7 * view.scale, weight: 1 * view.scale, color: "#000", fillOpacity: 0.9,
        fillColor: ORDER_COLOURS[p.status] || "#9ca3af",
        className: orderClass(p),
      });
      // Permanent: the order's number (the list and the card name it so); on hover: its whole label.
      const permanent = labelsOn("orderLabels");
      marker.bindTooltip(orderLabel(p, permanent), {
        direction: "right", offset: [6 * view.scale, 0], permanent: permanent,
        className: "marker-label order-label" + (permanent ? " label-permanent" : ""),
      });
      const props = () => (marker.feature && marker.feature.properties) || p;  // restyleOrder may change them
      frontOnHover(marker, () => orderLabel(props(), false), () => orderLabel(props(), true));
      view.orderMarkers.set(p.order_id, marker);
      marker.on("remove", () => { if (view.orderMarkers.get(p.order_id) === marker) view.orderMarkers.delete(p.order_id); });
      scheduleFit();
      return marker;
    },
    siteMarker: function (feature, latlng) {
      const p = feature.properties;
      const marker = L.circleMarker(latlng, {
        radius: 7, weight: 2, color: "#e2e8f0", fillColor: "#e2e8f0", fillOpacity: 0.15,
        className: "site-marker site-" + p.site_id,
      });
      marker.bindTooltip(label(p.name), { direction: "top", className: "marker-label" });
      return marker;
    },
    // A ring the size of a circle of radius 15 (13 for a site) with a 4 px stroke, as an element of its own in the
    // marker pane (above the markers' SVG, under the labels): it pulses by its own opacity (style.css), so each frame
    // redraws its few pixels only, not the SVG of 2,500 markers nor the map (bench/README.md).
    highlightMarker: function (feature, latlng) {
      const kind = feature.properties.kind;
      const size = 2 * (kind === "site" ? 13 : 15) + 4;
      return L.marker(latlng, {
        interactive: false, keyboard: false,
        icon: L.divIcon({ className: "highlight highlight-" + kind, iconSize: [size, size], html: "" }),
      });
    },
    roadStyle: function (feature) {
      const major = feature.properties && feature.properties.class === "major";
      return { color: major ? "#64748b" : "#334155", weight: major ? 3 : 1.5, opacity: 0.9, interactive: false };
    },
  };
})();
