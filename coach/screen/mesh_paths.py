"""The face mesh as polylines, for drawing (each polyline is one draw.lines call).

No pygame here: `coach.eval.demo_face` shares `chains`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from coach.core import face
from coach.resources import builtin_dir


def chains(edges) -> list[list[int]]:
    """Split an edge list into the point chains it was written as (a→b, b→c, ...)."""
    out: list[list[int]] = []
    for a, b in edges:
        if out and out[-1][-1] == a:
            out[-1].append(b)
        else:
            out.append([a, b])
    return out


def _path_cover(edges) -> list[list[int]]:
    """Chain undirected edges into few polylines, so each is one draw.lines call."""
    adj: dict[int, list[int]] = {}
    for a, b in {tuple(sorted(e)) for e in edges}:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    for v in adj.values():
        v.sort()
    paths: list[list[int]] = []
    while True:
        # Start at odd-degree points first: a walk from there uses edges up best.
        starts = [p for p in sorted(adj) if len(adj[p]) % 2] or [p for p in sorted(adj) if adj[p]]
        if not starts:
            return paths
        path = [starts[0]]
        while adj[path[-1]]:
            nxt = adj[path[-1]].pop(0)
            adj[nxt].remove(path[-1])
            path.append(nxt)
        paths.append(path)


@dataclass(frozen=True)
class MeshPaths:
    """The mesh's tesselation, outline, features and irises, ready to draw."""

    tesselation: list[list[int]]
    oval: list[int]
    features: list[list[int]]          # eyes, brows, lips, nose
    irises: tuple[tuple[int, int], ...]  # (centre, a rim point) per eye

    @classmethod
    def load(cls) -> "MeshPaths":
        mesh = json.loads((builtin_dir("data") / "face_mesh.json").read_text())
        feats = []
        for name in ("left_eye", "right_eye", "left_eyebrow", "right_eyebrow", "lips", "nose"):
            feats += chains(mesh[name])
        oval = chains(mesh["face_oval"])[0]
        irises = tuple((face.IRIS[s][0], face.IRIS[s][1]) for s in face.SIDES)
        return cls(_path_cover(mesh["tesselation"]), oval, feats, irises)
