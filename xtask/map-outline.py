#!/usr/bin/env python3
"""Writes app/src/communities/outline.tsv, the map outline the communities site ships.

Source: Natural Earth 1:50m admin-0 countries (public domain), as TopoJSON in the npm package
world-atlas@2.0.2 (ISC). Run: `npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz`,
then `python3 xtask/map-outline.py package/countries-50m.json`. Keeps the countries that reach
into Europe's box, in degrees (x = lon, y = lat), clamped to a margin around it, rounded to 0.05° and simplified (Ramer-Douglas-Peucker, 0.04°).
"""
import json
import sys

sys.setrecursionlimit(100_000)

BOX = (-12.0, 40.0, 32.0, 60.0)  # lon_min, lat_min, lon_max, lat_max: where Freifunk is
STEP = 0.05
EPSILON = 0.04  # degrees, about 3 km


def decode(topo):
    scale, translate = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * scale[0] + translate[0], y * scale[1] + translate[1]))
        arcs.append(points)
    return arcs


def ring(arcs, indexes):
    points = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        points.extend(arc if not points else arc[1:])
    return points


def simplify(points, epsilon):
    """Ramer-Douglas-Peucker."""
    if len(points) < 3:
        return points
    (x1, y1), (x2, y2) = points[0], points[-1]
    dx, dy = x2 - x1, y2 - y1
    norm = (dx * dx + dy * dy) ** 0.5
    best, index = 0.0, 0
    for i in range(1, len(points) - 1):
        x, y = points[i]
        d = abs(dy * x - dx * y + x2 * y1 - y2 * x1) / norm if norm else ((x - x1) ** 2 + (y - y1) ** 2) ** 0.5
        if d > best:
            best, index = d, i
    if best <= epsilon:
        return [points[0], points[-1]]
    return simplify(points[: index + 1], epsilon)[:-1] + simplify(points[index:], epsilon)


def path(rings):
    parts = []
    for r in rings:
        out = []
        for lon, lat in r:
            # Clamped to a margin around the box: what lies beyond is never in view.
            lon = min(max(lon, BOX[0] - 5), BOX[2] + 5)
            lat = min(max(lat, BOX[1] - 5), BOX[3] + 5)
            p = (round(lon / STEP) * STEP, round(lat / STEP) * STEP)
            if not out or out[-1] != p:
                out.append(p)
        out = simplify(out, EPSILON)
        if len(out) < 4:
            continue
        parts.append("M" + "L".join(f"{lon:.2f},{lat:.2f}" for lon, lat in out) + "Z")
    return "".join(parts)


def main():
    topo = json.load(open(sys.argv[1]))
    arcs = decode(topo)
    lines = ["# Natural Earth 1:50m countries (public domain) via world-atlas 2.0.2 (ISC); xtask/map-outline.py"]
    for g in topo["objects"]["countries"]["geometries"]:
        polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]] if g["type"] == "Polygon" else []
        rings = [ring(arcs, r) for poly in polys for r in poly]
        rings = [r for r in rings if any(BOX[0] <= lon <= BOX[2] and BOX[1] <= lat <= BOX[3] for lon, lat in r)]
        d = path(rings)
        if d:
            lines.append(f"{g['properties']['name']}\t{d}")
    open("app/src/communities/outline.tsv", "w").write("\n".join(lines) + "\n")


main()
