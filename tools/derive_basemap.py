"""Derive the offline street basemap (console/assets/basemap/monaco_roads.geojson) from the OSM extract.

The wall screen must show Monaco's streets without internet tiles, so the console draws this file
as a vector layer. Run by hand when the extract changes; the output is committed:

    .venv/bin/pip install osmium==4.3.2   # only needed for this script
    .venv/bin/python tools/derive_basemap.py

Each road is a LineString with `class` "major" (motorway … tertiary, and their links) or "minor"
(residential, unclassified, living street, pedestrian and service roads, unless --no-service); the
coastline comes as class "coast". Lines are joined where they meet, simplified with shapely and
rounded to 5 decimals (about 1 m) to keep the file small. Data © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import osmium
from shapely import LineString, MultiLineString
from shapely.ops import linemerge

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PBF = ROOT / "data" / "datasets" / "osm" / "monaco.osm.pbf"
DEFAULT_OUT = ROOT / "console" / "assets" / "basemap" / "monaco_roads.geojson"

MAJOR = {"motorway", "trunk", "primary", "secondary", "tertiary"}
MAJOR |= {f"{c}_link" for c in MAJOR}
MINOR = {"residential", "unclassified", "living_street", "pedestrian"}
TOLERANCE_DEG = 0.00002
DECIMALS = 5


class _Collector(osmium.SimpleHandler):
    """Collects road and coastline geometries by class."""

    def __init__(self, with_service: bool) -> None:
        super().__init__()
        self.minor = MINOR | ({"service"} if with_service else set())
        self.lines: dict[str, list[LineString]] = defaultdict(list)

    def way(self, w: Any) -> None:
        highway = w.tags.get("highway")
        if highway in MAJOR:
            kind = "major"
        elif highway in self.minor:
            kind = "minor"
        elif w.tags.get("natural") == "coastline":
            kind = "coast"
        else:
            return
        if highway == "pedestrian" and w.tags.get("area") == "yes":
            return
        try:
            coords = [(n.lon, n.lat) for n in w.nodes]
        except osmium.InvalidLocationError:
            coords = [(n.lon, n.lat) for n in w.nodes if n.location.valid()]
        if len(coords) >= 2:
            self.lines[kind].append(LineString(coords))


def _rounded(line: LineString) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y in line.coords:
        point = [round(x, DECIMALS), round(y, DECIMALS)]
        if not out or out[-1] != point:
            out.append(point)
    return out


def derive(pbf: Path, *, with_service: bool = True) -> dict[str, Any]:
    """The basemap as a GeoJSON FeatureCollection (a dict)."""
    collector = _Collector(with_service)
    collector.apply_file(str(pbf), locations=True)
    features: list[dict[str, Any]] = []
    for kind in ("coast", "minor", "major"):  # drawing order: major roads on top
        merged = linemerge(MultiLineString(collector.lines[kind])) if collector.lines[kind] else None
        if merged is None:
            continue
        parts = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
        for part in parts:
            coords = _rounded(part.simplify(TOLERANCE_DEG, preserve_topology=False))
            if len(coords) >= 2:
                features.append(
                    {
                        "type": "Feature",
                        "properties": {"class": kind},
                        "geometry": {"type": "LineString", "coordinates": coords},
                    }
                )
    return {
        "type": "FeatureCollection",
        "attribution": "© OpenStreetMap contributors, ODbL 1.0",
        "features": features,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pbf", type=Path, default=DEFAULT_PBF)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--no-service", dest="service", action="store_false", help="leave out service roads (driveways, car parks)"
    )
    args = parser.parse_args(argv)
    if not args.pbf.is_file():
        print(f"OpenStreetMap extract {args.pbf} does not exist", file=sys.stderr)
        return 1
    collection = derive(args.pbf, with_service=args.service)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(collection, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    counts: dict[str, int] = defaultdict(int)
    for f in collection["features"]:
        counts[f["properties"]["class"]] += 1
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): {summary} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
