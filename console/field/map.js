/* The small map: the day's stops numbered in route order and the worker's own fix, drawn as SVG over the streets
 * around them (the wall screen's basemap, from the shipped OpenStreetMap extract, credited on the map).
 * No tiles (the page must work offline and must not depend on a tile server); a plain projection
 * is enough to see which stop is where relative to the others and to yourself. */
(function () {
  "use strict";

  const _ = (message, params) => window.Field.t(message, params); // field/i18n.js: the office's catalogue

  const W = 360, H = 180, PAD = 34;

  function svgEl(tag, attrs, text) {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /**
   * Draw `stops` ([{lat, lon, status, label}], in route order) and `me` ({lat, lon, accuracy_m} or
   * null) into `svg`; `onTap(index)` is called when a stop is tapped. `route` ({points: [[lat, lon]...],
   * on_roads}, or null) is the day's route along the roads; without it the stops are joined straight. `roads` (GeoJSON
   * LineString features with a `class` of major, minor or coast, or null) are the streets drawn under it all.
   */
  function drawStops(svg, stops, me, onTap, route, roads) {
    const path = route && Array.isArray(route.points) ? route.points.map(([lat, lon]) => ({ lat: lat, lon: lon })) : [];
    const pts = stops.concat(me ? [me] : [], path);
    svg.replaceChildren(svgEl("rect", { x: 0, y: 0, width: W, height: H, class: "map-bg" }));
    if (!pts.length) {
      svg.append(svgEl("text", { x: W / 2, y: H / 2, class: "map-empty", "text-anchor": "middle" }, _("No stops today")));
      return;
    }
    // Equirectangular around the mean latitude: exact enough for a day's stops in one town.
    const k = Math.cos((pts.reduce((s, p) => s + p.lat, 0) / pts.length) * Math.PI / 180);
    const xs = pts.map((p) => p.lon * k), ys = pts.map((p) => -p.lat);
    const minX = Math.min(...xs), minY = Math.min(...ys);
    const spanX = Math.max(...xs) - minX, spanY = Math.max(...ys) - minY;
    const scale = Math.min((W - 2 * PAD) / (spanX || 1e-9), (H - 2 * PAD) / (spanY || 1e-9), 4e5); // px per degree
    const offX = (W - spanX * scale) / 2, offY = (H - spanY * scale) / 2;
    const at = (p) => [offX + (p.lon * k - minX) * scale, offY + (-p.lat - minY) * scale];
    if (roads && roads.length) drawRoads(svg, roads, at);

    // Stops at the same place (two jobs at one site) are fanned out so that each number stays readable.
    const seen = [];
    const spots = stops.map((s) => {
      const [x, y] = at(s);
      const n = seen.filter(([sx, sy]) => Math.hypot(sx - x, sy - y) < 20).length;
      seen.push([x, y]);
      return n ? [x + 28 * Math.cos(n * 2.1 - 0.8), y + 28 * Math.sin(n * 2.1 - 0.8)] : [x, y];
    });
    if (path.length > 1) {
      const cls = route.on_roads ? "map-route map-route-roads" : "map-route";
      svg.append(svgEl("polyline", { class: cls, points: path.map((p) => at(p).join(",")).join(" ") }));
    } else if (stops.length > 1) {
      svg.append(svgEl("polyline", { class: "map-route", points: spots.map((p) => p.join(",")).join(" ") }));
    }
    if (me) {
      const [x, y] = at(me);
      const r = Math.min(60, ((me.accuracy_m || 0) / 111320) * scale); // metres → degrees of latitude → px
      if (r > 10) svg.append(svgEl("circle", { cx: x, cy: y, r: r, class: "me-accuracy" }));
      svg.append(svgEl("circle", { cx: x, cy: y, r: 8, class: "me" }));
    }
    stops.forEach((s, i) => {
      const [x, y] = spots[i];
      const g = svgEl("g", { class: "stop stop-" + s.status, tabindex: 0, role: "button" });
      g.append(svgEl("circle", { cx: x, cy: y, r: 13 }));
      g.append(svgEl("text", { x: x, y: y + 5, "text-anchor": "middle" }, String(i + 1)));
      g.append(svgEl("title", {}, `${i + 1}. ${s.label}`));
      g.addEventListener("click", () => onTap(i));
      svg.append(g);
    });
  }

  const ROAD_CLASSES = new Set(["major", "minor", "coast"]);

  // The streets that come into view (a line with a point within a margin of the map), then their credit.
  function drawRoads(svg, roads, at) {
    const near = ([x, y]) => x >= -40 && x <= W + 40 && y >= -40 && y <= H + 40;
    let drawn = 0;
    for (const f of roads) {
      const g = f && f.geometry;
      if (!g || g.type !== "LineString" || !Array.isArray(g.coordinates)) continue;
      const xy = g.coordinates.map(([lon, lat]) => at({ lat: lat, lon: lon }));
      if (!xy.some(near)) continue;
      const kind = f.properties && ROAD_CLASSES.has(f.properties.class) ? f.properties.class : "minor";
      svg.append(svgEl("polyline", {
        class: "map-road map-road-" + kind, points: xy.map(([x, y]) => x.toFixed(1) + "," + y.toFixed(1)).join(" "),
      }));
      drawn += 1;
    }
    if (!drawn) return;
    svg.append(svgEl("text", { x: W - 4, y: H - 4, class: "map-credit", "text-anchor": "end" }, "© OpenStreetMap contributors"));
  }

  window.Field = Object.assign(window.Field || {}, { drawStops: drawStops });
})();
