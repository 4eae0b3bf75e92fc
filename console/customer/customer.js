/* The customer's page: polls GET /api/v1/track/{token} every few seconds and shows what it answers.
 * Every value is written as text (textContent), never as HTML. The map is an SVG with two dots
 * (the customer's site and the technician) and no tiles: the page needs no tile server. */
(function () {
  "use strict";

  const POLL_MS = 3000;
  const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const api = "/api/v1/track/" + encodeURIComponent(token);
  const $ = (id) => document.getElementById(id);
  const _ = window.OutfieldI18n.t;
  const N_ = window.OutfieldI18n.N_;
  const LABELS = {
    new: N_("received"), assigned: N_("scheduled"), accepted: N_("scheduled"), en_route: N_("on the way"),
    on_site: N_("on site"), done: N_("done"), declined: N_("scheduled"), failed: N_("not completed"), cancelled: N_("cancelled"),
  };
  let stopped = false;
  // The customer's rating, once the server took it: a poll the server answered before that (its answer may come
  // after) still says the survey is open, and would show the form again under the thanks.
  let rated = false;
  window.outfieldTrack = { shown: 0 }; // answers shown (tests read it)

  function svgEl(tag, attrs, text) {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function drawMap(site, me) {
    const svg = $("map");
    const W = 360, H = 200, PAD = 30;
    const k = Math.cos(site.lat * Math.PI / 180);
    const pts = [site, me];
    const xs = pts.map((p) => p.lon * k), ys = pts.map((p) => -p.lat);
    const minX = Math.min(...xs), minY = Math.min(...ys);
    const span = Math.max(Math.max(...xs) - minX, Math.max(...ys) - minY, 1e-4);
    const s = Math.min(W - 2 * PAD, H - 2 * PAD) / span;
    const at = (p) => [PAD + (p.lon * k - minX) * s, PAD + (-p.lat - minY) * s];
    const [sx, sy] = at(site), [mx, my] = at(me);
    svg.replaceChildren(
      svgEl("circle", { cx: sx, cy: sy, r: 7, class: "site" }),
      svgEl("text", { x: sx + 10, y: sy + 4 }, _("You")),
      svgEl("circle", { cx: mx, cy: my, r: 7, class: "worker", id: "worker-marker" }),
      svgEl("text", { x: mx + 10, y: my + 4 }, _("Technician")),
    );
  }

  // When the visit is expected, on the phone's own clock (as the ETA): 'Sun 6 Dec, 09:00–11:00', both days when the
  // window runs past midnight.
  // Times read on the 24-hour clock in both languages, the window's and the arrival's alike.
  const TIME = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  const locale = () => (window.OutfieldI18n.lang.startsWith("zh") ? "zh-CN" : "en-GB");

  function windowText(startIso, endIso) {
    const lang = locale(), time = TIME;
    const start = new Date(startIso), end = new Date(endIso);
    const day = { weekday: "short", day: "numeric", month: "short" };
    const sameDay = start.toDateString() === end.toDateString();
    return start.toLocaleString(lang, { ...day, ...time }) + (sameDay ? "–" : " – ")
      + end.toLocaleString(lang, sameDay ? time : { ...day, ...time });
  }

  function show(view) {
    $("problem").hidden = true;
    $("order").hidden = false;
    $("status").textContent = LABELS[view.status] ? _(LABELS[view.status]) : view.status;
    $("status").dataset.status = view.status;
    const expected = Boolean(view.window_start && view.window_end) && !["done", "failed", "cancelled"].includes(view.status);
    $("window-line").hidden = !expected;
    $("window").textContent = expected ? windowText(view.window_start, view.window_end) : "";
    $("worker-line").hidden = !view.worker_first_name;
    $("worker").textContent = view.worker_first_name || "";
    const moving = Boolean(view.position && view.site);
    $("map-box").hidden = !moving;
    if (moving) drawMap(view.site, view.position);
    else $("map").replaceChildren();
    $("eta-line").hidden = !view.eta;
    if (view.eta) {
      $("eta").textContent = _("{n} min", { n: Math.max(1, Math.round(view.eta.seconds / 60)) });
      $("eta-at").textContent = new Date(view.eta.at).toLocaleTimeString(locale(), TIME);
    }
    $("survey").hidden = !view.survey.open || rated;
    $("thanks").hidden = !view.survey.answered && !rated;
    window.outfieldTrack.shown += 1;
  }

  function problem(text) {
    $("problem").textContent = text;
    $("problem").hidden = false;
  }

  async function poll() {
    try {
      const r = await fetch(api, { cache: "no-store" });
      const body = await r.json();
      if (!r.ok) {
        problem(body.error || _("This link does not work."));
        $("order").hidden = true;
        if (r.status === 404 || r.status === 410) stopped = true;
      } else {
        show(body);
      }
    } catch (e) {
      problem(_("Cannot reach the server; trying again."));
    }
    if (!stopped) setTimeout(poll, POLL_MS);
  }

  $("survey-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const chosen = document.querySelector("input[name=rating]:checked");
    if (!chosen) {
      $("survey-result").textContent = _("Choose a rating from 1 to 5.");
      return;
    }
    const r = await fetch(api + "/survey", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ rating: Number(chosen.value), comment: $("comment").value }),
    });
    const body = await r.json().catch(() => ({}));
    if (r.ok) {
      rated = true;
      $("survey").hidden = true;
      $("thanks").hidden = false;
    } else {
      $("survey-result").textContent = body.error || _("Not sent.");
    }
  });

  poll();
})();
