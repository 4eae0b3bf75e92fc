/* The field page's attendance: clock-in/out for the shift, late entries (a missed check-in or check-out
 * entered afterwards with its real time and a reason), the day's report, and reminders.
 *
 * Everything the worker does here goes through app.js' offline queue (`queueAction`): saved on the phone
 * with a client id and the tap's time, sent once. What the office knows comes from /attendance (cached by
 * the service worker like /day). Text from the office or the worker is only ever set as text.
 */
(function () {
  "use strict";

  const F = window.outfieldField;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const att = { state: null, reportDirty: false, keptOffline: false, asked: 0, answered: 0 }; // reads asked, answered
  const _ = (message, params) => window.Field.t(message, params); // field/i18n.js: the office's catalogue
  const N_ = (message) => message;
  const LATE_WORDS = { in: N_("Late check-in at {time}"), out: N_("Late check-out at {time}") };
  const STATUS_WORDS = { pending: N_("waits for your manager's approval"), approved: N_("approved"), rejected: N_("rejected") };
  function lateWords(kind, at) { return _(LATE_WORDS[kind] || kind, { time: hhmm(at) }); }
  // The verdict on a clock event (dispatch/checkin.py's kinds); its reason comes translated from /attendance.
  const VERDICT_WORDS = { outside_geofence: N_("outside geofence"), poor_accuracy: N_("poor accuracy"), no_location: N_("no location"),
                          early: N_("early"), late: N_("late") };
  // The reminders the domain words in English (dispatch/reminders.py); the socket pushes that English, so a banner
  // is put in the worker's language here, from the same catalogue (the list on /attendance is translated by the server).
  const REMINDER_WORDS = [N_("Your shift began at {time}: clock in?"), N_("You are at {site}, check in?"),
                          N_("The visit at {site} was planned to end at {time}: check out when done."),
                          N_("Your shift ends at {time}: file the day's report?"),
                          N_("Time to leave for {site}: {minutes} min away, its window opens at {time}.")];

  function reminderText(text) {
    for (const template of REMINDER_WORDS) {
      const names = [];
      const pattern = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, (m, name) => { names.push(name); return "(.+?)"; });
      const match = new RegExp("^" + pattern + "$").exec(text);
      if (match) return _(template, Object.fromEntries(names.map((name, i) => [name, match[i + 1]])));
    }
    return text;
  }

  function hhmm(iso) {
    return window.Field.i18n.clock(iso); // the office's clock, as the order windows and the console read
  }

  function queued(action) {
    return F.state.actions.filter((a) => a.action === action);
  }

  // Reads overlap (every day read, a reminder, the minute's timer each ask one) and may be answered out of order:
  // only the latest asked is used, since an older one may predate a clock-in this page has already synced.
  async function load() {
    const mine = ++att.asked;
    try {
      // Asked through the service worker (it controls the page when the request leaves): its cache holds the
      // answer before the page gets it, so the page opens with it offline.
      const viaWorker = Boolean(navigator.serviceWorker && navigator.serviceWorker.controller);
      const res = await fetch(F.api + "/attendance", { cache: "no-store" });
      const answer = res.ok ? await res.json() : null;
      att.answered += 1;
      if (mine !== att.asked) return;
      if (answer) {
        att.state = answer;
        if (viaWorker) att.keptOffline = true;
      }
    } catch (e) {
      att.answered += 1; // offline: keep what we had; the queue still shows what was done on this phone
      if (mine !== att.asked) return;
    }
    render();
  }

  /** Clocked in, counting what is still waiting in the queue. */
  function clockedIn() {
    let inNow = !!(att.state && att.state.clocked_in);
    for (const a of F.state.actions) {
      if (a.action === "clock_in") inNow = true;
      if (a.action === "clock_out") inNow = false;
    }
    return inNow;
  }

  function render() {
    if (!att.state || !F.state.day) return;
    renderShift();
    renderLateEntries();
    renderDayReport();
    renderReminders();
  }

  // ------------------------------------------------------------ reminders

  const DISMISSED = "reminders-dismissed:" + F.token;

  function dismissed() {
    try {
      return new Set(JSON.parse(localStorage.getItem(DISMISSED) || "[]"));
    } catch (e) {
      return new Set();
    }
  }

  function renderReminders() {
    $("#reminders").hidden = false;
    $("#reminders-on").checked = att.state.reminders_enabled !== false;
    const gone = dismissed();
    const shown = (att.state.reminders || []).filter((r) => !gone.has(r.id));
    $("#reminder-list").replaceChildren(...shown.map((r) => {
      const li = document.createElement("li");
      li.className = "reminder reminder-" + r.kind;
      li.dataset.kind = r.kind;
      const text = document.createElement("span");
      text.textContent = r.text;
      const ok = document.createElement("button");
      ok.type = "button";
      ok.className = "btn btn-small";
      ok.textContent = _("OK");
      ok.addEventListener("click", () => {
        const next = dismissed();
        next.add(r.id);
        localStorage.setItem(DISMISSED, JSON.stringify([...next]));
        renderReminders();
      });
      li.append(text, ok);
      return li;
    }));
    const canPush = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
    $("#allow-notifications").hidden = !canPush || Notification.permission === "granted";
  }

  async function switchReminders(ev) {
    const enabled = ev.target.checked;
    try {
      const res = await fetch(F.api + "/reminders", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ enabled: enabled }),
      });
      if (!res.ok) throw new Error(String(res.status));
      att.state.reminders_enabled = enabled;
    } catch (e) {
      ev.target.checked = !enabled;
      F.notice(_("Could not change the reminders switch (offline?): try again with a connection."), "error");
    }
  }

  /** Ask for notifications and subscribe this phone to Web Push with the server's VAPID key. */
  async function allowNotifications() {
    try {
      if ((await Notification.requestPermission()) !== "granted") return;
      const { public_key: key } = await (await fetch(F.api + "/push-key")).json();
      const raw = atob(key.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((key.length + 3) % 4));
      const registration = await navigator.serviceWorker.ready;
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: Uint8Array.from(raw, (c) => c.charCodeAt(0)),
      });
      // The page's language goes with it: the server writes this phone's notifications in it.
      const language = (window.Field.i18n && window.Field.i18n.state.lang) || "en";
      await fetch(F.api + "/push-subscription", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...subscription.toJSON(), language: language }),
      });
      renderReminders();
    } catch (e) {
      F.notice(_("Phone notifications are not available here ({reason}); reminders still show on this page.", { reason: e.message }), "error");
    }
  }

  function onEvent(name, data) {
    if (name !== "reminder") return;
    F.showBanner(data.text ? reminderText(data.text) : _("Reminder"));
    load();
  }

  function renderShift() {
    const policy = att.state.clock_in;
    const box = $("#shift");
    box.hidden = policy === "off";
    if (policy === "off") return;
    const inNow = clockedIn();
    $("#clock-in").disabled = inNow;
    $("#clock-out").disabled = !inNow;
    const events = att.state.clock_events;
    const last = events[events.length - 1];
    const waiting = queued("clock_in").length + queued("clock_out").length;
    let text;
    if (waiting) text = inNow ? _("Clocked in (saved on this phone, waiting to sync)") : _("Clocked out (saved on this phone, waiting to sync)");
    else if (last) {
      const verdict = last.verdict === "verified" || last.verdict === "not_checked" ? ""
        : " — " + _("{verdict}: {reason}", { verdict: _(VERDICT_WORDS[last.verdict] || last.verdict.replace(/_/g, " ")), reason: last.verdict_reason });
      text = (last.kind === "in" ? _("Clocked in at {time}", { time: hhmm(last.at) }) : _("Clocked out at {time}", { time: hhmm(last.at) })) + verdict;
    } else text = _("Not clocked in yet.");
    if (policy === "required" && !inNow) text += " " + _("Clock in before your first check-in.");
    $("#clock-state").textContent = text;
    // Required: no check-in before the clock-in (the office counts the shift from it).
    for (const b of document.querySelectorAll("#orders .act-check_in")) if (policy === "required" && !inNow) b.disabled = true;
  }

  async function clock(action) {
    const at = new Date().toISOString();
    $("#" + action.replace("_", "-")).disabled = true;
    const { fix, error } = await F.getFix();
    if (!fix) F.notice((action === "clock_in" ? _("Clock-in is saved without a position ({reason}).", { reason: error }) : _("Clock-out is saved without a position ({reason}).", { reason: error })), "error");
    const location = fix ? { lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy_m, at: fix.at } : undefined;
    await F.queueAction(null, action, location ? { at: at, location: location } : { at: at });
  }

  function renderLateEntries() {
    const entries = att.state.late_entries;
    for (const card of document.querySelectorAll("#orders .order")) {
      const orderId = Number(card.dataset.orderId);
      if (!card.lateWired) wireLateForm(card, orderId);
      const items = entries.filter((e) => e.order_id === orderId).map((e) => {
        const note = e.note ? ` (${e.note})` : "";
        return el("li", `late-${e.status}`, `${lateWords(e.kind, e.at)} — ${STATUS_WORDS[e.status] ? _(STATUS_WORDS[e.status]) : e.status}${note}`);
      });
      for (const a of F.state.actions.filter((x) => x.action === "late_entry" && x.order_id === orderId)) {
        items.push(el("li", "late-pending", `${lateWords(a.kind, a.at)} — ${_("saved on this phone, waiting to sync")}`));
      }
      card.querySelector(".late-list").replaceChildren(...items);
    }
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    e.className = cls;
    e.textContent = text;
    return e;
  }

  function wireLateForm(card, orderId) {
    card.lateWired = true;
    const form = card.querySelector(".late-form");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const reason = form.querySelector(".late-reason").value.trim();
      const time = form.querySelector(".late-time").value;
      if (reason.length < 3 || !time) {
        F.notice(_("A late entry needs the time it really was and why it was missed."), "error");
        return;
      }
      const real = window.Field.i18n.atOnDay(F.state.day.day, time); // the office's clock on the link's day
      if (real > new Date()) {
        F.notice(_("A late entry is for a time that has passed."), "error");
        return;
      }
      const kind = form.querySelector(".late-kind").value;
      await F.queueAction(orderId, "late_entry", { kind: kind, at: real.toISOString(), reason: reason });
      form.reset();
    });
  }

  function renderDayReport() {
    const filed = att.state.day_report;
    const prefill = att.state.day_report_prefill;
    const form = $("#day-report");
    if (!att.reportDirty) {
      const source = filed || prefill || {};
      $("#dr-done").value = source.done || "";
      $("#dr-problems").value = source.problems || "";
      $("#dr-km").value = source.km === null || source.km === undefined ? "" : String(source.km);
      $("#dr-notes").value = source.notes || "";
    }
    const waiting = queued("day_report").length;
    $("#day-report-state").textContent = waiting ? _("Saved on this phone, waiting to sync.")
      : filed ? _("Filed at {time}. You may correct it and file it again.", { time: hhmm(filed.written_at) }) : _("Not filed yet.");
    form.dataset.filed = filed ? "yes" : "no";
  }

  async function fileDayReport(ev) {
    ev.preventDefault();
    const km = $("#dr-km").value.trim();
    const report = {
      done: $("#dr-done").value, problems: $("#dr-problems").value, notes: $("#dr-notes").value,
      km: km === "" ? null : Number(km),
    };
    if (!(report.done.trim() || report.problems.trim() || report.notes.trim())) {
      F.notice(_("Say what was done (or a problem, or a note) before filing the day's report."), "error");
      return;
    }
    att.reportDirty = false;
    await F.queueAction(null, "day_report", { day_report: report });
  }

  $("#clock-in").addEventListener("click", () => clock("clock_in"));
  $("#clock-out").addEventListener("click", () => clock("clock_out"));
  $("#day-report").addEventListener("input", () => { att.reportDirty = true; });
  $("#day-report").addEventListener("submit", fileDayReport);
  $("#reminders-on").addEventListener("change", switchReminders);
  $("#allow-notifications").addEventListener("click", allowNotifications);
  F.onEvent.push(onEvent);
  setInterval(() => { if (navigator.onLine && !F.state.refused) load(); }, 60000); // reminders without a socket too
  F.onRender.push(render);
  F.onDay.push(load);
  F.attendance = att;
  if (F.state.day) load();
})();
