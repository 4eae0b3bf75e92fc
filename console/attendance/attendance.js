/* The managers' attendance page: late entries to decide (reason, site, the worker's track around that time),
 * timesheets with approval and downloads, day reports per team. Plain JS over the API; every value from
 * the server is set as text (a worker's reason is what they typed). */
(function () {
  "use strict";

  const _ = window.OutfieldI18n.t;
  const $ = (sel) => document.querySelector(sel);
  let current = null; // the late entry shown in the detail panel

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  let office; // the office's time zone (IANA name), once known: times and days read on its clock

  function when(iso) {
    return iso ? new Date(iso).toLocaleString(window.OutfieldI18n.lang, { dateStyle: "short", timeStyle: "short", timeZone: office }) : "—";
  }

  function showError(text) {
    $("#error").textContent = text;
    $("#error").hidden = !text;
  }

  async function api(path, options) {
    const res = await fetch(path, { credentials: "same-origin", ...(options || {}) });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
    return body;
  }

  // Reads of one thing overlap (a filter submitted twice, the re-read after an approval, two entries shown one after
  // the other) and may be answered out of order: only the latest asked is used; an older one resolves to null.
  // `newer()` makes the reads under way older, as a decision does to the entry shown.
  function latestOnly(read) {
    let asked = 0;
    const latest = async (...args) => {
      const mine = ++asked;
      const body = await read(...args);
      return mine === asked ? body : null;
    };
    latest.newer = () => { asked += 1; };
    return latest;
  }
  const readEntries = latestOnly(api), readEntry = latestOnly(api), readTimesheets = latestOnly(api), readReports = latestOnly(api);
  window.outfieldAttendance = { entryAnswers: 0 }; // answers to Show, used or not (tests read it)

  // ------------------------------------------------------------ late entries

  async function loadLateEntries() {
    const answer = await readEntries("/api/v1/late-entries?status=pending");
    if (!answer) return;
    const entries = answer.late_entries;
    $("#late-empty").hidden = entries.length > 0;
    $("#late-list").replaceChildren(...entries.map((e) => {
      const li = el("li");
      const late = e.kind === "in" ? _("late check-in at {site}", { site: e.site_name }) : _("late check-out at {site}", { site: e.site_name });
      const button = el("button", _("Show"), "btn");
      button.type = "button";
      button.dataset.entryId = String(e.id);
      button.addEventListener("click", () => showEntry(e.id));
      li.append(el("span", `${e.worker} · ${late} · ${when(e.at)} · “${e.reason}” `), button);
      return li;
    }));
    if (current && !entries.some((e) => e.id === current.id)) { current = null; $("#late-detail").hidden = true; }
  }

  async function showEntry(id) {
    let entry;
    try {
      entry = await readEntry(`/api/v1/late-entries/${id}`);
    } finally {
      window.outfieldAttendance.entryAnswers += 1;
    }
    if (!entry) return;  // another entry was shown (or this one decided) meanwhile: the Approve button is for that one
    current = entry;
    $("#late-detail-title").textContent = (entry.kind === "in" ? _("Late check-in") : _("Late check-out")) + " · " + _("order #{id}", { id: entry.order_id });
    $("#ld-worker").textContent = entry.worker;
    $("#ld-site").textContent = entry.site.name;
    $("#ld-at").textContent = when(entry.at);
    $("#ld-recorded").textContent = when(entry.recorded_at);
    $("#ld-reason").textContent = entry.reason;
    $("#ld-note").value = "";
    drawMap(entry);
    $("#late-detail").hidden = false;
  }

  /** The site (its circle) and the track as a polyline on a plain projection; the fix nearest the entry's time marked. */
  function drawMap(entry) {
    const svg = $("#ld-map");
    const ns = "http://www.w3.org/2000/svg";
    svg.replaceChildren();
    const points = entry.track.map((p) => [p.lat, p.lon]);
    const all = points.concat([[entry.site.lat, entry.site.lon]]);
    const metresPerDegLat = 111320;
    const cos = Math.cos((entry.site.lat * Math.PI) / 180);
    const ys = all.map((p) => p[0] * metresPerDegLat), xs = all.map((p) => p[1] * metresPerDegLat * cos);
    const pad = Math.max(entry.site.radius_m * 2, 100);
    const minX = Math.min(...xs) - pad, maxX = Math.max(...xs) + pad, minY = Math.min(...ys) - pad, maxY = Math.max(...ys) + pad;
    const scale = Math.min(320 / (maxX - minX), 200 / (maxY - minY));
    const at = (lat, lon) => [(lon * metresPerDegLat * cos - minX) * scale, 200 - (lat * metresPerDegLat - minY) * scale];
    const node = (name, attrs) => {
      const n = document.createElementNS(ns, name);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
      svg.append(n);
      return n;
    };
    const [sx, sy] = at(entry.site.lat, entry.site.lon);
    node("circle", { cx: sx, cy: sy, r: Math.max(entry.site.radius_m * scale, 3), fill: "#bfdbfe", stroke: "#1d4ed8", class: "site" });
    if (points.length) {
      node("polyline", { points: points.map((p) => at(p[0], p[1]).join(",")).join(" "), fill: "none", stroke: "#b45309", "stroke-width": 2, class: "track" });
      const t = new Date(entry.at).getTime();
      const nearest = entry.track.reduce((best, p) => (Math.abs(new Date(p.at) - t) < Math.abs(new Date(best.at) - t) ? p : best));
      const [nx, ny] = at(nearest.lat, nearest.lon);
      node("circle", { cx: nx, cy: ny, r: 5, fill: "#b91c1c", class: "at-entry" });
      $("#ld-map-note").textContent = _("{n} fixes from 30 min before to 30 min after; red: the fix nearest {time}; blue: the site.", { n: entry.track.length, time: when(entry.at) });
    } else {
      $("#ld-map-note").textContent = _("No fixes from 30 min before to 30 min after that time (only the site is shown).");
    }
  }

  async function decide(decision) {
    if (!current) return;
    try {
      await api(`/api/v1/late-entries/${current.id}/decision`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ decision: decision, note: $("#ld-note").value }),
      });
      showError("");
      current = null;
      readEntry.newer();  // an entry asked before the decision is not shown after it
      $("#late-detail").hidden = true;
      await loadLateEntries();
      await loadTimesheets();
    } catch (e) {
      showError(decision === "approve" ? _("Could not approve: {reason}", { reason: e.message }) : _("Could not reject: {reason}", { reason: e.message }));
    }
  }

  // ------------------------------------------------------------ timesheets

  function query() {
    const params = new URLSearchParams({ from: $("#ts-from").value, to: $("#ts-to").value });
    if ($("#ts-team").value.trim()) params.set("team", $("#ts-team").value.trim());
    return params;
  }

  // Minutes (a tenth at most) as "2 h 05", rounded to the minute first: 179.6 reads 3 h 00, not 2 h 60.
  const minutes = (m) => {
    if (!m) return "—";
    const whole = Math.round(m);
    return `${Math.floor(whole / 60)} h ${String(whole % 60).padStart(2, "0")}`;
  };

  let timesheetsShown = ""; // the query whose rows the table shows
  let timesheetsAsked = ""; // the query of the latest read asked

  async function loadTimesheets() {
    const params = query();
    timesheetsAsked = String(params);
    for (const fmt of ["csv", "xlsx"]) {
      const p = new URLSearchParams(params);
      p.set("format", fmt);
      $(`#ts-${fmt}`).href = `/api/v1/timesheets?${p}`;
    }
    // A month of a large team takes seconds to add up: a new period or team says so (the rows of another one
    // would mislead), the same one again (after an approval) keeps its rows until the new ones come.
    const body = $("#ts-table tbody");
    if (String(params) !== timesheetsShown) body.replaceChildren(note(_("Adding up the hours…")));
    let answer;
    try {
      answer = await readTimesheets(`/api/v1/timesheets?${params}`);
    } catch (e) {
      if (String(params) !== timesheetsShown) body.replaceChildren();  // not "adding up" any more: the error says why
      throw e;
    }
    if (!answer) return;
    timesheetsShown = String(params);
    const rows = answer.rows;
    if (!rows.length) {
      $("#ts-table tbody").replaceChildren(note(_("No shifts planned and no hours recorded in this period.")));
      return;
    }
    $("#ts-table tbody").replaceChildren(...rows.map(timesheetRow));
  }

  // One worker's day: its hours, what is doubtful about it, and its approval (or the button to give it).
  function timesheetRow(r) {
    const tr = el("tr");
    tr.dataset.workerId = String(r.worker_id);
    tr.dataset.day = r.day;
    tr.append(el("td", r.worker), el("td", r.team), el("td", r.day, "day"));
    for (const k of ["planned_min", "worked_min", "on_site_min", "travel_min", "break_min", "overtime_min", "late_start_min", "early_leave_min"]) {
      tr.append(el("td", minutes(r[k]), "num"));
    }
    // A day over with shifts planned and nothing recorded is said so, unless the worker was on leave.
    const nothing = r.day_over && r.planned_min > 0 && !r.started_at && !r.leave;
    const flags = [r.leave ? _("on leave ({reason})", { reason: r.leave }) : "", nothing ? _("nothing recorded") : "",
      r.missing_clock_out ? _("missing clock-out") : "", r.late_entries_pending ? _("{n} late entry waiting", { n: r.late_entries_pending }) : "",
      r.clock_check || ""].filter(Boolean);
    tr.append(el("td", flags.join(", "), "flag"));
    const cell = el("td");
    if (r.approved) cell.textContent = _("approved by {name}", { name: r.approved_by });
    else if (r.day_over === false) cell.textContent = _("day not over");
    else {
      const b = el("button", _("Approve"), "btn approve");
      b.type = "button";
      b.addEventListener("click", () => approve(r.worker_id, r.day));
      cell.append(b);
    }
    tr.append(cell);
    return tr;
  }

  // One row across the whole table saying `text` (the table's state, not a worker's day).
  function note(text) {
    const tr = el("tr", "", "ts-note");
    const td = el("td", text, "muted");
    td.colSpan = $("#ts-table thead tr").children.length;
    tr.append(td);
    return tr;
  }

  // The approved day's row is redrawn from the answer, which is that row as the table lists it: the table is not read
  // again (for a month of a large team that took seconds per click). A refusal (approved meanwhile, a late entry
  // waiting) reads the table again, to show how things stand.
  async function approve(workerId, day) {
    let approved = null;
    try {
      approved = await api("/api/v1/timesheets/approve", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ worker_id: workerId, day: day }),
      });
      showError("");
    } catch (e) {
      showError(_("Could not approve {day}: ", { day: day }) + e.message);
    }
    const row = [...document.querySelectorAll("#ts-table tbody tr[data-worker-id]")]
      .find((tr) => tr.dataset.workerId === String(workerId) && tr.dataset.day === day);
    if (approved && row && timesheetsAsked === timesheetsShown) {
      readTimesheets.newer(); // a read of this table under way began before the approval: its row would undo it
      row.replaceWith(timesheetRow(approved));
    } else {
      await loadTimesheets();
    }
  }

  // ------------------------------------------------------------ day reports

  async function loadDayReports() {
    const params = query();
    const answer = await readReports(`/api/v1/day-reports?${params}`);
    if (!answer) return;
    const reports = answer.day_reports;
    const teams = new Map();
    for (const r of reports) {
      if (!teams.has(r.team)) teams.set(r.team, []);
      teams.get(r.team).push(r);
    }
    const blocks = [];
    for (const [team, list] of teams) {
      blocks.push(el("h3", team || _("No team")));
      for (const r of list) {
        const card = el("div", null, "report-card");
        card.append(el("strong", `${r.worker} · ${r.day}${r.km !== null ? ` · ${r.km} km` : ""}`), el("div", r.done));
        if (r.problems) card.append(el("div", _("Problems: ") + r.problems));
        if (r.notes) card.append(el("div", r.notes));
        blocks.push(card);
      }
    }
    $("#dr-list").replaceChildren(...(blocks.length ? blocks : [el("p", _("No day reports in this period."), "muted")]));
  }

  async function refresh() {
    try {
      await Promise.all([loadLateEntries(), loadTimesheets(), loadDayReports()]);
      showError("");
    } catch (e) {
      showError(e.message);
    }
  }

  // Timesheets name the office's calendar days (OUTFIELD_TIMEZONE), not UTC's or the browser's: the period
  // opens on the last seven days of the office's clock.
  async function officeZone() {
    try {
      return (await api("/i18n/catalogue.json")).timezone || undefined;
    } catch (e) {
      return undefined;
    }
  }

  function localDay(ms, timeZone) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
      .format(new Date(ms));
  }

  $("#ts-filter").addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
  $("#ld-approve").addEventListener("click", () => decide("approve"));
  $("#ld-reject").addEventListener("click", () => decide("reject"));
  officeZone().then((timeZone) => {
    office = timeZone;
    const now = Date.now();
    $("#ts-to").value = localDay(now, office);
    $("#ts-from").value = localDay(now - 6 * 86400000, office);
    refresh();
  });
})();
