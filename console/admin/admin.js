// The administration screens (/admin/): workers (with shifts and leave), sites (map picker, circle or polygon),
// users, teams and the audit log, all through the REST API (console/api_admin.py) with the page's session
// cookie. Every text a user typed is set as text (textContent, input values), never parsed as HTML.
(function () {
  "use strict";

  const _ = window.OutfieldI18n.t;
  const N_ = window.OutfieldI18n.N_;
  const role = document.body.dataset.role || "";
  const ROLE_WORDS = { admin: N_("admin"), dispatcher: N_("dispatcher"), manager: N_("manager"), field_worker: N_("field worker") };
  function roleWord(r) { return ROLE_WORDS[r] ? _(ROLE_WORDS[r]) : r; }
  function yesNo(flag) { return flag ? _("yes") : _("no"); }
  const message = document.getElementById("message");
  const state = { workers: [], sites: [], teams: [], users: [], editing: { worker: null, site: null } };

  function say(text, ok) {
    message.textContent = text;
    message.className = "admin-message " + (ok ? "ok" : "error");
  }

  // One call to the API: the JSON answer, or an Error carrying the server's reason (and the field it names).
  async function api(method, path, body) {
    const init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const answer = await fetch(path, init);
    window.outfieldAdmin.answers += 1;
    if (answer.status === 204) return null;
    const data = await answer.json().catch(() => ({ error: _("the server answered {status}", { status: answer.status }) }));
    if (!answer.ok) {
      const error = new Error(data.error || _("refused ({status})", { status: answer.status }));
      error.field = data.field;
      throw error;
    }
    return data;
  }

  window.outfieldAdmin = { answers: 0, changes: 0 };  // answers from the API, changes asked to be sent (tests read them)

  // The screens' reads overlap (a tab opened as the page loads, the re-read after a save, an Edit clicked twice) and
  // may be answered out of order: `load(latest, ...)` draws only while `latest()`, i.e. no newer call was made since,
  // else an older list would replace a newer one (a worker just saved would leave the table).
  function latestOnly(load) {
    let asked = 0;
    return (...args) => {
      const mine = ++asked;
      return load(() => mine === asked, ...args);
    };
  }

  // Changes sent one after another, each once the last is answered: two sent at once may be applied by the server in
  // either order, and a later choice (a team box ticked, a role picked) would be undone by the earlier one.
  function inTurn() {
    let last = Promise.resolve();
    return (send) => { window.outfieldAdmin.changes += 1; last = last.then(send); return last; };
  }

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  // The browser's own check (a required field left empty) stops a submit before any handler here runs; the message of
  // the previous attempt ("Saved …") would stay beside the browser's bubble as if this one had gone through.
  document.addEventListener("invalid", () => say("", true), true);

  function td(text) { return el("td", { text: text == null ? "" : String(text) }); }

  function guard(action) {
    return async (event) => {
      if (event && event.preventDefault) event.preventDefault();
      try { await action(event); } catch (error) { say(error.message, false); }
    };
  }

  // ---- Tabs: each role sees its own screens (the API checks again on every call).
  const tabs = [...document.querySelectorAll("#tabs button")];
  const loaders = {};
  function show(name) {
    for (const tab of tabs) {
      tab.classList.toggle("active", tab.dataset.tab === name);
      document.getElementById("pane-" + tab.dataset.tab).hidden = tab.dataset.tab !== name;
    }
    say("", true);
    loaders[name]().catch((error) => say(error.message, false));
  }
  const allowed = tabs.filter((tab) => tab.dataset.roles.split(" ").includes(role));
  for (const tab of tabs) {
    tab.hidden = !allowed.includes(tab);
    tab.addEventListener("click", () => show(tab.dataset.tab));
  }

  // ---- The map picker: Monaco's streets drawn as SVG (no tiles); a click sets the latitude and longitude.
  const W = 480, H = 300;
  let roads = null;
  const bounds = { minLon: 7.405, maxLon: 7.44, minLat: 43.723, maxLat: 43.752 };
  function project(lon, lat) {
    return [(lon - bounds.minLon) / (bounds.maxLon - bounds.minLon) * W, (bounds.maxLat - lat) / (bounds.maxLat - bounds.minLat) * H];
  }
  function unproject(x, y) {
    return [bounds.minLon + x / W * (bounds.maxLon - bounds.minLon), bounds.maxLat - y / H * (bounds.maxLat - bounds.minLat)];
  }
  function svg(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  }
  async function loadRoads() {
    if (roads) return roads;
    const answer = await fetch("/assets/basemap/monaco_roads.geojson", { credentials: "same-origin" });
    roads = answer.ok ? await answer.json() : { features: [] };
    return roads;
  }
  function picker(svgNode, form, withRadius) {
    const draw = () => {
      svgNode.replaceChildren();
      for (const f of (roads && roads.features) || []) {
        const g = f.geometry;
        const lines = g.type === "LineString" ? [g.coordinates] : g.type === "MultiLineString" ? g.coordinates : [];
        for (const line of lines) {
          const d = line.map(([lon, lat], i) => (i ? "L" : "M") + project(lon, lat).map((n) => n.toFixed(1)).join(" ")).join("");
          svgNode.append(svg("path", { d: d, class: "road" }));
        }
      }
      const lat = parseFloat(form.elements.lat.value), lon = parseFloat(form.elements.lon.value);
      if (!isFinite(lat) || !isFinite(lon)) return;
      const [x, y] = project(lon, lat);
      if (withRadius) {
        const r = parseFloat(form.elements.geofence_radius_m.value) || 0;
        const px = r / 111320 / (bounds.maxLat - bounds.minLat) * H;
        svgNode.append(svg("circle", { cx: x, cy: y, r: Math.max(px, 2), class: "fence" }));
      }
      svgNode.append(svg("circle", { cx: x, cy: y, r: 6, class: "spot" }));
    };
    svgNode.addEventListener("click", (event) => {
      const box = svgNode.getBoundingClientRect();
      const [lon, lat] = unproject((event.clientX - box.left) / box.width * W, (event.clientY - box.top) / box.height * H);
      form.elements.lat.value = lat.toFixed(6);
      form.elements.lon.value = lon.toFixed(6);
      draw();
    });
    for (const name of ["lat", "lon"].concat(withRadius ? ["geofence_radius_m"] : [])) form.elements[name].addEventListener("input", draw);
    loadRoads().then(draw, draw);
    return draw;
  }

  function point(form, field) {
    const lat = form.elements.lat.value.trim(), lon = form.elements.lon.value.trim();
    if (!lat && !lon) return null;
    const p = { lat: Number(lat), lon: Number(lon) };
    if (!isFinite(p.lat) || !isFinite(p.lon) || lat === "" || lon === "") throw new Error(field + ": " + _("latitude and longitude must be numbers"));
    return p;
  }

  // ---- Workers
  const workerForm = document.getElementById("worker-form");
  const drawWorkerPicker = picker(document.getElementById("worker-picker"), workerForm, false);

  loaders.workers = latestOnly(async (latest) => {
    const [workers, teams] = await Promise.all([api("GET", "/api/v1/workers"), api("GET", "/api/v1/teams")]);
    if (!latest()) return;
    [state.workers, state.teams] = [workers, teams];
    const body = document.querySelector("#workers-table tbody");
    body.replaceChildren(...state.workers.map((w) => {
      const row = el("tr", { className: w.active ? "" : "inactive", "data-worker-id": w.id }, [
        td(w.name), td(w.device_id), td(w.team), td(w.skills.join(", ")), td(w.shifts.join("; ")), td(yesNo(w.active)),
      ]);
      row.append(el("td", {}, [el("button", { type: "button", text: _("Edit"), className: "worker-edit", onclick: guard(() => editWorker(w.id)) })]));
      return row;
    }));
    const select = workerForm.elements.team_id;
    select.replaceChildren(el("option", { value: "", text: _("(no team)") }), ...state.teams.map((t) => el("option", { value: t.id, text: t.name })));
  });

  const editWorker = latestOnly(async (latest, id) => {
    const w = id === null ? null : await api("GET", "/api/v1/workers/" + id);
    const consent = w ? await api("GET", "/api/v1/workers/" + w.id + "/consent") : null;
    if (!latest()) return;  // another worker (or New) was chosen meanwhile: the form is theirs
    state.editing.worker = w ? w.id : null;
    state.editing.teamId = w && w.team_id ? String(w.team_id) : "";
    const f = workerForm.elements;
    document.getElementById("worker-form-title").textContent = w ? _("Edit {name}", { name: w.name }) : _("New worker");
    f.name.value = w ? w.name : "";
    f.device_id.value = w ? w.device_id : "";
    f.skills.value = w ? w.skills.join(", ") : "";
    f.team_id.value = w && w.team_id ? String(w.team_id) : "";
    f.lat.value = w && w.home_base ? w.home_base.lat : "";
    f.lon.value = w && w.home_base ? w.home_base.lon : "";
    f.shifts.value = w ? w.shifts.join("\n") : "";
    f.active.checked = w ? w.active : true;
    document.getElementById("leaves").hidden = !w;
    drawLeaves(w ? w.leaves : []);
    document.getElementById("consent").hidden = !w;
    if (consent) drawConsent(consent);
    workerForm.hidden = false;
    drawWorkerPicker();
    f.name.focus();
  });

  function drawLeaves(leaves) {
    document.getElementById("leave-list").replaceChildren(...leaves.map((l) => el("li", { className: "leave" }, [
      el("span", { text: l.start + " – " + l.end + " · " + l.reason + " " }),
      el("button", { type: "button", text: _("Remove"), onclick: guard(async () => {
        await api("DELETE", "/api/v1/workers/" + state.editing.worker + "/leaves/" + l.id);
        drawLeaves((await api("GET", "/api/v1/workers/" + state.editing.worker)).leaves);
        say(_("Leave removed."), true);
      }) }),
    ])));
  }

  // Consent to location tracking: without it the worker's phone is not tracked (OUTFIELD_CONSENT_REQUIRED). An admin
  // records consent the worker signed on paper, under the current text's version, or withdraws it; both are audited.
  function when(iso) {  // on the office's clock, named (the zone is read at start: auditZone below)
    if (!iso) return "";
    return new Date(iso).toLocaleString(window.OutfieldI18n.lang, { year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", timeZone: officeZone || "UTC", timeZoneName: "short" });
  }
  function drawConsent(c) {
    state.editing.consentVersion = c.text_version;
    const how = c.source === "paper" ? _("on paper, recorded by {name}", { name: c.recorded_by || _("an admin") }) : _("on their push-link page");
    const words = {
      given: _("Consent given {how} on {when} (text version {version}): tracked.", { how: how, when: when(c.given_at), version: c.given_text_version }),
      withdrawn: _("Consent withdrawn on {when}: not tracked.", { when: when(c.withdrawn_at) }),
      none: _("No consent on record: not tracked."),
    };
    document.getElementById("consent-state").textContent = words[c.state] || c.state;
    document.getElementById("consent-actions").hidden = role !== "admin";  // the data controller's act
    document.getElementById("consent-give").textContent = _("Record consent given on paper (text version {version})", { version: c.text_version });
    document.getElementById("consent-give").hidden = c.state === "given" && c.given_text_version === c.text_version;
    document.getElementById("consent-withdraw").hidden = c.state !== "given";
  }
  async function recordConsent(body, done) {
    drawConsent(await api("POST", "/api/v1/workers/" + state.editing.worker + "/consent", body));
    say(done, true);
  }
  document.getElementById("consent-give").addEventListener("click", guard(() => recordConsent(
    { given: true, text_version: state.editing.consentVersion }, _("Consent recorded: the worker's phone is tracked from now on."))));
  document.getElementById("consent-withdraw").addEventListener("click", guard(() => recordConsent(
    { given: false }, _("Consent withdrawn: the worker's phone is no longer tracked."))));

  document.getElementById("worker-new").addEventListener("click", guard(() => editWorker(null)));
  workerForm.querySelector("[data-cancel]").addEventListener("click", () => { workerForm.hidden = true; });
  workerForm.addEventListener("submit", guard(async () => {
    const f = workerForm.elements;
    const body = {
      name: f.name.value, device_id: f.device_id.value,
      skills: f.skills.value.split(",").map((s) => s.trim()).filter(Boolean),
      team_id: f.team_id.value ? Number(f.team_id.value) : null,
      home_base: point(workerForm, "home_base"),
      shifts: f.shifts.value.split("\n").map((s) => s.trim()).filter(Boolean),
      active: f.active.checked,
    };
    const id = state.editing.worker;
    // A team typed on the command line has no reference: keep it unless another team was chosen here.
    if (id !== null && f.team_id.value === state.editing.teamId) delete body.team_id;
    const saved = id === null ? await api("POST", "/api/v1/workers", body) : await api("PATCH", "/api/v1/workers/" + id, body);
    workerForm.hidden = true;
    await loaders.workers();
    say(_("Saved {name}.", { name: saved.name }), true);
  }));
  document.getElementById("leave-add").addEventListener("click", guard(async () => {
    const f = workerForm.elements;
    const id = state.editing.worker;
    await api("POST", "/api/v1/workers/" + id + "/leaves", { start: f.leave_start.value, end: f.leave_end.value, reason: f.leave_reason.value });
    drawLeaves((await api("GET", "/api/v1/workers/" + id)).leaves);
    say(_("Leave added."), true);
  }));

  // ---- Sites
  const siteForm = document.getElementById("site-form");
  const drawSitePicker = picker(document.getElementById("site-picker"), siteForm, true);

  loaders.sites = latestOnly(async (latest) => {
    const sites = await api("GET", "/api/v1/sites");
    if (!latest()) return;
    state.sites = sites;
    document.querySelector("#sites-table tbody").replaceChildren(...state.sites.map((s) => el("tr", { "data-site-id": s.id }, [
      td(s.name), td(s.address), td(s.category), td(s.customer),
      td(s.geofence_polygon ? _("polygon ({n} corners)", { n: s.geofence_polygon.coordinates[0].length - 1 }) : _("circle {m} m", { m: s.geofence_radius_m })),
      el("td", {}, [el("button", { type: "button", text: _("Edit"), onclick: () => editSite(s) })]),
    ])));
  });

  function editSite(s) {
    state.editing.site = s ? s.id : null;
    const f = siteForm.elements;
    document.getElementById("site-form-title").textContent = s ? _("Edit {name}", { name: s.name }) : _("New site");
    for (const name of ["name", "address", "category", "customer"]) f[name].value = s ? s[name] : "";
    f.lat.value = s ? s.location.lat : "";
    f.lon.value = s ? s.location.lon : "";
    f.geofence_radius_m.value = s ? s.geofence_radius_m : 50;
    f.geofence_polygon.value = s && s.geofence_polygon ? JSON.stringify(s.geofence_polygon) : "";
    siteForm.hidden = false;
    drawSitePicker();
  }

  document.getElementById("site-new").addEventListener("click", () => editSite(null));
  siteForm.querySelector("[data-cancel]").addEventListener("click", () => { siteForm.hidden = true; });
  siteForm.addEventListener("submit", guard(async () => {
    const f = siteForm.elements;
    const polygon = f.geofence_polygon.value.trim();
    const body = {
      name: f.name.value, address: f.address.value, category: f.category.value, customer: f.customer.value,
      location: point(siteForm, "location"), geofence_radius_m: Number(f.geofence_radius_m.value),
      geofence_polygon: polygon ? polygon : null,
    };
    const id = state.editing.site;
    const saved = id === null ? await api("POST", "/api/v1/sites", body) : await api("PATCH", "/api/v1/sites/" + id, body);
    siteForm.hidden = true;
    await loaders.sites();
    say(_("Saved {name}.", { name: saved.name }), true);
  }));

  // ---- Users
  const userForm = document.getElementById("user-form");
  const secret = document.getElementById("user-secret");
  function teamBoxes(container, chosen) {
    container.replaceChildren(...state.teams.map((t) => el("label", {}, [
      el("input", Object.assign({ type: "checkbox", value: t.id }, chosen.includes(t.id) ? { checked: "" } : {})),
      el("span", { text: " " + t.name }),
    ])));
  }
  function chosenTeams(container) { return [...container.querySelectorAll("input:checked")].map((i) => Number(i.value)); }

  loaders.users = latestOnly(async (latest) => {
    const [users, teams] = await Promise.all([api("GET", "/api/v1/users"), api("GET", "/api/v1/teams")]);
    if (!latest()) return;
    [state.users, state.teams] = [users, teams];
    teamBoxes(document.getElementById("user-teams"), []);
    const names = Object.fromEntries(state.teams.map((t) => [t.id, t.name]));
    document.querySelector("#users-table tbody").replaceChildren(...state.users.map((u) => {
      const roleSelect = el("select", { "aria-label": _("role of {name}", { name: u.name }) }, ["admin", "dispatcher", "manager", "field_worker"].map(
        (r) => el("option", Object.assign({ value: r, text: roleWord(r) }, r === u.role ? { selected: "" } : {}))));
      // What is sent is read when it is sent: the last change made is the last sent.
      const send = inTurn();
      roleSelect.addEventListener("change", () => send(guard(async () => {
        const chosen = roleSelect.value;
        await api("PATCH", "/api/v1/users/" + u.id, { role: chosen });
        say(_("{name} is now {role}.", { name: u.name, role: roleWord(chosen) }), true);
      })));
      const boxes = el("span", { className: "admin-team-boxes" });
      teamBoxes(boxes, u.teams);
      boxes.addEventListener("change", () => send(guard(async () => {
        await api("PATCH", "/api/v1/users/" + u.id, { teams: chosenTeams(boxes) });
        say(_("Teams of {name} saved.", { name: u.name }), true);
      })));
      return el("tr", { className: u.active ? "" : "inactive", "data-user-id": u.id }, [
        td(u.name), el("td", {}, [roleSelect]), el("td", { title: u.teams.map((t) => names[t]).join(", ") }, [boxes]),
        td(yesNo(u.active)),
        el("td", {}, [
          el("button", { type: "button", text: u.active ? _("Deactivate") : _("Reactivate"), onclick: guard(async () => {
            await api("PATCH", "/api/v1/users/" + u.id, { active: !u.active });
            await loaders.users();
            say(u.active ? _("{name} deactivated: their sessions and API tokens no longer work.", { name: u.name }) : _("{name} reactivated.", { name: u.name }), true);
          }) }),
          " ",
          el("button", { type: "button", text: _("Reset password"), onclick: guard(async () => {
            const reset = await api("POST", "/api/v1/users/" + u.id + "/password-reset");
            secret.textContent = _("New password for {name} (shown once): ", { name: u.name }) + reset.password;
            secret.hidden = false;
            say(_("Password reset: {name}'s sessions and API tokens are ended.", { name: u.name }), true);
          }) }),
        ]),
      ]);
    }));
  });
  userForm.addEventListener("submit", guard(async () => {
    const f = userForm.elements;
    const body = { name: f.name.value, role: f.role.value, teams: chosenTeams(document.getElementById("user-teams")) };
    if (f.password.value) body.password = f.password.value;
    const created = await api("POST", "/api/v1/users", body);
    userForm.reset();
    secret.textContent = _("API token for {name} (shown once): ", { name: created.name }) + created.token;
    secret.hidden = false;
    await loaders.users();
    say(_("Created {name}.", { name: created.name }), true);
  }));

  // ---- Teams
  loaders.teams = latestOnly(async (latest) => {
    const teams = await api("GET", "/api/v1/teams");
    if (!latest()) return;
    state.teams = teams;
    document.querySelector("#teams-table tbody").replaceChildren(...state.teams.map((t) => {
      const name = el("input", { "aria-label": _("name of team {id}", { id: t.id }), maxlength: "100" });
      name.value = t.name;
      return el("tr", { className: t.active ? "" : "inactive", "data-team-id": t.id }, [
        el("td", {}, [name]), td(t.workers), td(t.users), td(yesNo(t.active)),
        el("td", {}, [
          el("button", { type: "button", text: _("Rename"), onclick: guard(async () => {
            await api("PATCH", "/api/v1/teams/" + t.id, { name: name.value });
            await loaders.teams();
            say(_("Team renamed."), true);
          }) }), " ",
          el("button", { type: "button", text: t.active ? _("Deactivate") : _("Reactivate"), onclick: guard(async () => {
            await api("PATCH", "/api/v1/teams/" + t.id, { active: !t.active });
            await loaders.teams();
          }) }), " ",
          el("button", { type: "button", text: _("Delete"), onclick: guard(async () => {
            await api("DELETE", "/api/v1/teams/" + t.id);
            await loaders.teams();
            say(_("Team deleted; its workers have no team now."), true);
          }) }),
        ]),
      ]);
    }));
  });
  document.getElementById("team-form").addEventListener("submit", guard(async (event) => {
    await api("POST", "/api/v1/teams", { name: event.target.elements.name.value });
    event.target.reset();
    await loaders.teams();
    say(_("Team added."), true);
  }));

  // ---- The audit log: filters → query; the CSV link carries the same filters. Times are read and typed on
  // the office's clock (OUTFIELD_TIMEZONE, from /i18n/catalogue.json); the API gets them as UTC instants.
  const auditForm = document.getElementById("audit-form");
  var officeZone = null;  // var: read by when() above, which may run before this line in an odd load order
  async function auditZone() {
    if (officeZone === null) {
      try { officeZone = (await api("GET", "/i18n/catalogue.json")).timezone || "UTC"; } catch (e) { officeZone = "UTC"; }
      document.getElementById("audit-zone").textContent = officeZone;
    }
    return officeZone;
  }
  /** How far `zone`'s clock is ahead of UTC at the instant `utcMs`, in ms. */
  function offsetMs(utcMs, zone) {
    const parts = {};
    for (const p of new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(utcMs))) parts[p.type] = p.value;
    return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second) - utcMs;
  }
  /** A datetime-local value ("2026-03-02T09:00") on `zone`'s clock as an ISO 8601 UTC instant. */
  function zonedToUtc(value, zone) {
    const wall = Date.parse(value + ":00Z");
    const guess = wall - offsetMs(wall, zone);
    return new Date(wall - offsetMs(guess, zone)).toISOString();
  }
  function officeTime(iso, zone) {
    return new Date(iso).toLocaleString(window.OutfieldI18n.lang, { dateStyle: "short", timeStyle: "medium", timeZone: zone });
  }
  function auditQuery(zone) {
    const q = new URLSearchParams();
    const f = auditForm.elements;
    for (const name of ["actor", "action", "worker_id"]) if (f[name].value.trim()) q.set(name, f[name].value.trim());
    for (const name of ["from", "to"]) if (f[name].value) q.set(name, zonedToUtc(f[name].value, zone));
    return q;
  }

  // An entry's action, subject and details headings as a person reads them (the raw action stays in the row's
  // title and data-action, and the CSV keeps everything raw); an action the catalogue does not know shows raw.
  const AUDIT_ACTIONS = [
    N_("create-worker"), N_("update-worker"), N_("deactivate-worker"), N_("reactivate-worker"), N_("add-leave"),
    N_("delete-leave"), N_("create-site"), N_("update-site"), N_("create-user"), N_("update-user"),
    N_("deactivate-user"), N_("reactivate-user"), N_("reset-password"), N_("create-team"), N_("update-team"),
    N_("delete-team"), N_("view-audit"), N_("view-positions"), N_("view-stops"), N_("view-trips"),
    N_("view-track"), N_("view-visit-track"), N_("view-day"), N_("view-plan-vs-actual"), N_("view-live-map"),
    N_("who-is-near"), N_("view-worker"), N_("view-signature"), N_("view-report"), N_("view-report-orders"),
    N_("view-report-approvals"), N_("view-location-customer-link"), N_("view-late-entry"),
    N_("view-field-record"), N_("view-events"), N_("view-checkin-reviews"), N_("start-plan"), N_("replan"),
    N_("edit-plan"), N_("publish-plan"), N_("set-team-scope"), N_("save-form"), N_("revoke-push-links"),
    N_("revoke-customer-links"), N_("review-report"), N_("review-checkin"), N_("replay-webhook-delivery"),
    N_("override-assignment"), N_("issue-push-link"), N_("issue-customer-link"), N_("give-consent"),
    N_("withdraw-consent"), N_("export-worker-data"), N_("anonymise-worker"), N_("add-webhook"),
    N_("delete-webhook"), N_("batch-assign"), N_("approve-timesheet"), N_("approve-late-entry"),
    N_("reject-late-entry"), N_("acknowledge-alert"),
  ];
  const AUDIT_SUBJECTS = {
    worker: N_("worker"), user: N_("user"), team: N_("team"), site: N_("site"), audit: N_("audit"), late_entry: N_("late_entry"),
    checkin: N_("checkin"), webhook_delivery: N_("webhook_delivery"), fleet: N_("fleet"), form: N_("form"), order: N_("order"),
    plan: N_("plan"), report: N_("report"), alert: N_("alert"), webhook: N_("webhook"),
  };
  const AUDIT_HEADINGS = {
    after: N_("after"), before: N_("before"), changed: N_("changed"), status: N_("status"), count: N_("count"),
    orders: N_("orders"), assigned: N_("assigned"), from: N_("from"), to: N_("to"), day: N_("day"), note: N_("note"),
    reason: N_("reason"), removed: N_("removed"), kind: N_("kind"), order_id: N_("order_id"),
    worker_id: N_("worker_id"), link_id: N_("link_id"), send: N_("send"), sent: N_("sent"), skills: N_("skills"),
    chosen: N_("chosen"), kept: N_("kept"), total_cost_s: N_("total_cost_s"), text_version: N_("text_version"),
    teams: N_("teams"), all_teams: N_("all_teams"), fields: N_("fields"), version: N_("version"),
    order_type: N_("order_type"), edited_from: N_("edited_from"), report_id: N_("report_id"), decision: N_("decision"),
    events: N_("events"), expires_at: N_("expires_at"), proposed: N_("proposed"), source: N_("source"),
    action: N_("action"), actor: N_("actor"), alerts: N_("alerts"), audit: N_("audit"),
    balance_workload: N_("balance_workload"), change_penalty: N_("change_penalty"), replan_of: N_("replan_of"),
    checkins: N_("checkins"),
    chosen_excluded_because: N_("chosen_excluded_because"), clock_events: N_("clock_events"),
    consents: N_("consents"), day_reports: N_("day_reports"), fence_crossings: N_("fence_crossings"),
    field_actions: N_("field_actions"), figure: N_("figure"), generated: N_("generated"), group: N_("group"),
    key: N_("key"), late_entries: N_("late_entries"), minimise: N_("minimise"), n: N_("n"), photos: N_("photos"),
    positions: N_("positions"), profile: N_("profile"), push_links_revoked: N_("push_links_revoked"),
    push_subscriptions: N_("push_subscriptions"), push_subscriptions_removed: N_("push_subscriptions_removed"),
    queued_at: N_("queued_at"), reminder_settings: N_("reminder_settings"), reminders: N_("reminders"),
    report: N_("report"), seconds: N_("seconds"), service_reports: N_("service_reports"),
    sessions_ended: N_("sessions_ended"), state: N_("state"), status_history: N_("status_history"),
    survey_answers: N_("survey_answers"), timesheets: N_("timesheets"), token: N_("token"),
    tokens_revoked: N_("tokens_revoked"), users: N_("users"), via: N_("via"), workers: N_("workers"),
    // The field names inside what an edit changed (before, after, changed):
    active: N_("active"), address: N_("address"), category: N_("category"), customer: N_("customer"),
    device_id: N_("device_id"), end: N_("end"), external_ref: N_("external_ref"),
    geofence_polygon: N_("geofence_polygon"), geofence_radius_m: N_("geofence_radius_m"), home_base: N_("home_base"),
    id: N_("id"), location: N_("location"), name: N_("name"), role: N_("role"), shifts: N_("shifts"),
    start: N_("start"), team: N_("team"),
  };
  const heading = (k) => (k in AUDIT_HEADINGS ? _(AUDIT_HEADINGS[k]) : k);
  const EDITED = ["before", "after", "changed"];
  function auditDetails(details) {
    const fields = (v) => (v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).map(([f, x]) => [heading(f), x])) : v);
    const shown = Object.entries(details || {}).map(([k, v]) => [heading(k), EDITED.includes(k) ? fields(v) : v]);
    return JSON.stringify(Object.fromEntries(shown));
  }

  let auditAsked = 0;  // an answer to an older query (the filters changed meanwhile) is not drawn
  loaders.audit = async () => {
    document.getElementById("audit-scope").textContent = role === "admin" ? _("everything") : _("who viewed whose location");
    const zone = await auditZone();
    const q = auditQuery(zone);
    const asked = ++auditAsked;
    const data = await api("GET", "/api/v1/audit?" + q.toString());
    if (asked !== auditAsked) return;
    q.set("format", "csv");
    document.getElementById("audit-csv").href = "/api/v1/audit?" + q.toString();
    document.querySelector("#audit-table tbody").replaceChildren(...data.entries.map((e) => el("tr", {}, [
      td(officeTime(e.at, zone)), td(e.actor),
      el("td", { className: "action", text: AUDIT_ACTIONS.includes(e.action) ? _(e.action) : e.action, title: e.action, "data-action": e.action }),
      td((e.subject_type in AUDIT_SUBJECTS ? _(AUDIT_SUBJECTS[e.subject_type]) : e.subject_type) + (e.subject_id !== null ? " " + e.subject_id : "")),
      el("td", { className: "details", text: auditDetails(e.details) }),
    ])));
  };
  auditForm.addEventListener("submit", guard(() => loaders.audit()));

  auditZone();  // the office's zone, for every time these screens show
  if (allowed.length) show(allowed[0].dataset.tab);
  else document.getElementById("refused").hidden = false;
})();
