/* The day page's playback (/day/), run in the browser: no server call per frame.
 *
 * The slider's value is seconds into the day's filtered track. While playing, each tick moves it by
 * the wall-clock time since the last tick times the chosen speed (x1..x60); the marker is put where
 * the track was at that fix time, interpolated between the two fixes around it. */
(function () {
  "use strict";
  var lastTick = null;
  var exact = 0; // seconds into the track, unrounded (the slider holds whole seconds)

  function clock(ms) {  // 'HH:MM:SS ZONE' on the office's clock (the page's data-timezone, console/i18n.py)
    var page = document.querySelector(".day-page[data-timezone]");
    var zone = (page && page.dataset.timezone) || "UTC";
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short",
    }).formatToParts(new Date(ms)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.hour + ":" + parts.minute + ":" + parts.second + " " + parts.timeZoneName;
  }

  function positionAt(track, ms) {
    var t = track.t, ll = track.ll, n = t.length;
    if (ms <= t[0]) return ll[0];
    if (ms >= t[n - 1]) return ll[n - 1];
    var lo = 0, hi = n - 1;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (t[mid] <= ms) lo = mid; else hi = mid;
    }
    var f = (ms - t[lo]) / (t[hi] - t[lo] || 1);
    return [ll[lo][0] + (ll[hi][0] - ll[lo][0]) * f, ll[lo][1] + (ll[hi][1] - ll[lo][1]) * f];
  }

  function word(name) {  // "play" / "pause" in the page's language (data-play, data-pause; console/pages/day.py)
    var page = document.querySelector(".day-page");
    return (page && page.dataset[name]) || (name === "play" ? "Play" : "Pause");
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    day: {
      // The worker and day picked, written into the address (replaceState: no reload, no new history entry).
      keep: function (worker, day) {
        if (worker === null || worker === undefined) return window.dash_clientside.no_update;
        var query = new URLSearchParams(location.search);
        query.set("worker", String(worker));
        if (day) query.set("date", String(day).slice(0, 10));
        var search = "?" + query.toString();
        if (search !== location.search) history.replaceState(history.state, "", location.pathname + search);
        return search;
      },
      play: function (_clicks, disabled, value, max) {
        lastTick = null;
        exact = value >= max ? 0 : value || 0;
        if (!disabled) return [true, word("play")];
        if (value >= max) {
          // At the end: start over from the beginning.
          window.dash_clientside.set_props("day-slider", { value: 0 });
        }
        return [false, word("pause")];
      },
      tick: function (_n, value, max, speed) {
        var now = performance.now();
        var elapsed = lastTick === null ? 0 : (now - lastTick) / 1000;
        lastTick = now;
        if (Math.abs((value || 0) - Math.round(exact)) > 1) exact = value || 0; // dragged meanwhile
        exact = Math.min(max, exact + elapsed * (speed || 1));
        var next = Math.round(exact);
        if (next >= max) {
          lastTick = null;
          return [max, true, word("play")];
        }
        return [next, window.dash_clientside.no_update, window.dash_clientside.no_update];
      },
      place: function (value, track, style) {
        var empty = !track || !track.t || track.t.length === 0;
        var shown = Object.assign({}, style, { opacity: empty ? 0 : 1, fillOpacity: empty ? 0 : 1 });
        if (empty) return [window.dash_clientside.no_update, shown, "--:--:--"];
        var ms = track.t[0] + (value || 0) * 1000;
        return [positionAt(track, ms), shown, clock(ms)];
      }
    }
  });
})();
