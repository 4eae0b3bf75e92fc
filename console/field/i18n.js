/* The field page's language and clock: the office's catalogue (GET /i18n/catalogue.json, kept by the
 * service worker and in localStorage, so the page reads in the worker's language offline too) and the
 * office's time zone for every time shown.
 *
 * The language: the worker's choice on this phone (the EN / 中文 switch, kept in localStorage and the
 * `lang` cookie) > the phone's language (Accept-Language, decided by the server) > English.
 * Elements of index.html with `data-i18n` have their text translated; app.js calls `Field.t` as `_("English")`
 * (and marks words defined ahead of use with `N_("English")`), which `pybabel extract` finds.
 */
(function () {
  "use strict";

  const KEY = "outfield-lang";
  const CACHE_KEY = "outfield-catalogue:";
  const state = { lang: "en", timezone: undefined, messages: {} };

  function chosen() {
    try { return localStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }

  function remember(catalogue) {
    state.lang = catalogue.lang || "en";
    state.timezone = catalogue.timezone || undefined;
    state.messages = catalogue.messages || {};
    try { localStorage.setItem(CACHE_KEY + (chosen() || "auto"), JSON.stringify(catalogue)); } catch (e) { /* full */ }
  }

  async function load() {
    const want = chosen();
    try {
      const cached = localStorage.getItem(CACHE_KEY + (want || "auto"));
      if (cached) remember(JSON.parse(cached));
    } catch (e) { /* no storage: English until the network answers */ }
    try {
      // One URL (the service worker keeps it for offline use); the `lang` cookie carries the worker's choice.
      const res = await fetch("/i18n/catalogue.json", { credentials: "same-origin" });
      const catalogue = res.ok ? await res.json() : null;
      // Offline, the worker's copy may be in the language before a switch: this phone's own copy wins then.
      if (catalogue && (!want || catalogue.lang === want)) remember(catalogue);
    } catch (e) { /* offline: the cached catalogue (or English) stays */ }
    apply(document);
  }

  /** `message` in the page's language, with `{name}` filled from `params`. */
  function t(message, params) {
    const text = state.messages[message] || message;
    return params ? text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m)) : text;
  }

  function apply(root) {
    document.documentElement.lang = state.lang.replace("_", "-");
    root.querySelectorAll("[data-i18n]").forEach((el) => {
      if (!el.dataset.i18nSource) el.dataset.i18nSource = el.textContent.replace(/\s+/g, " ").trim();
      el.textContent = t(el.dataset.i18nSource);
    });
    root.querySelectorAll("[data-i18n-label]").forEach((el) => {
      if (!el.dataset.i18nLabelSource) el.dataset.i18nLabelSource = el.getAttribute("aria-label") || "";
      el.setAttribute("aria-label", t(el.dataset.i18nLabelSource));
    });
    document.querySelectorAll(".lang-switch button").forEach((b) => {
      b.setAttribute("aria-pressed", b.value === state.lang ? "true" : "false");
    });
  }

  function switchTo(lang) {
    try { localStorage.setItem(KEY, lang); } catch (e) { /* the cookie still says it */ }
    document.cookie = "lang=" + encodeURIComponent(lang) + "; path=/; max-age=31536000; samesite=lax";
    location.reload();
  }

  /** 'HH:MM' of an ISO time on the office's clock. */
  function clock(iso) {
    return new Date(iso).toLocaleTimeString(state.lang.replace("_", "-"), {
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: state.timezone,
    });
  }

  /** The office's zone as a person reads it beside a time ('CET', 'GMT+8'). */
  function zoneName(iso) {
    const parts = new Intl.DateTimeFormat("en-GB", { timeZone: state.timezone, timeZoneName: "short" }).formatToParts(new Date(iso));
    const zone = parts.find((p) => p.type === "timeZoneName");
    return zone ? zone.value : "";
  }

  /** The instant (a Date) that reads `hhmm` ('HH:MM') on `day` ('YYYY-MM-DD') on the office's clock: what a worker
   * types is the office's time, as every time the page shows is, whatever zone the phone is set to. */
  function atOnDay(day, hhmm) {
    const [y, mo, d] = day.split("-").map(Number);
    const [h, mi] = hhmm.split(":").map(Number);
    const wall = Date.UTC(y, mo - 1, d, h, mi);
    if (!state.timezone) return new Date(y, mo - 1, d, h, mi); // no office zone known: the phone's own
    const offset = (t) => { // the office's offset from UTC at instant t, in ms
      const p = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
        timeZone: state.timezone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
      }).formatToParts(new Date(t)).map((x) => [x.type, x.value]));
      return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - t;
    };
    const first = wall - offset(wall);
    return new Date(wall - offset(first)); // again at the instant found: right across a change of the clocks
  }

  /** The local calendar day of an ISO time on the office's clock, as 'YYYY-MM-DD'. */
  function localDay(iso) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: state.timezone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
  }

  document.addEventListener("click", (ev) => {
    const b = ev.target.closest && ev.target.closest(".lang-switch button");
    if (b) switchTo(b.value);
  });

  window.Field = Object.assign(window.Field || {}, {
    t: t, N_: (m) => m, i18n: { ready: load(), apply: apply, clock: clock, zoneName: zoneName, localDay: localDay, atOnDay: atOnDay, state: state },
  });
})();
