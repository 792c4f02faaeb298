"""The service graph of a lane report as inline SVG, each service coloured by outcome.

    svg = service_graph(report)      # '<svg class="service-graph" ...>...</svg>'

Services are laid out in columns by call depth (callers left of callees); a service
is green when the lane's version served it, grey when it fell back to stable, red
when the lane was lost there. A service with failed hops gets a dashed red border.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape

from ._report import Report, ServiceOutcomes

__all__ = ["COLOURS", "service_graph"]

COLOURS = {"hit": "#2e7d32", "fallback": "#607d8b", "lost": "#c62828", "none": "#9e9e9e"}
_FAILED_BORDER = ' stroke="#c62828" stroke-width="3" stroke-dasharray="6 3"'
_WIDTH, _HEIGHT, _GAP_X, _GAP_Y, _PAD = 170, 50, 90, 30, 20


def _columns(report: Report) -> dict[str, int]:
    """Each service's column: its longest call depth from a service nobody calls."""
    callees: dict[str, list[str]] = defaultdict(list)
    called = set()
    for edge in report.edges:
        callees[edge.source].append(edge.target)
        called.add(edge.target)
    names = [s.service for s in report.services]
    column = dict.fromkeys(names, 0)
    for _ in range(len(names)):  # relax at most once per service: cycles stay bounded
        changed = False
        for source, targets in callees.items():
            for target in targets:
                if target != source and column[target] < column[source] + 1 <= len(names):
                    column[target] = column[source] + 1
                    changed = True
        if not changed:
            break
    return column


def _label(service: ServiceOutcomes) -> str:
    served = ", ".join(f"{version}: {n}" for version, n in sorted(service.versions.items()))
    return served or "-"


def service_graph(report: Report) -> str:
    """Return the report's service graph as one ``<svg>`` element (no external resources)."""
    column = _columns(report)
    rows: dict[int, list[ServiceOutcomes]] = defaultdict(list)
    for service in report.services:
        rows[column[service.service]].append(service)
    place: dict[str, tuple[int, int]] = {}
    for col, members in rows.items():
        for row, service in enumerate(members):
            x = _PAD + col * (_WIDTH + _GAP_X)
            place[service.service] = (x, _PAD + row * (_HEIGHT + _GAP_Y))
    width = _PAD * 2 + (max(rows, default=0) + 1) * (_WIDTH + _GAP_X) - _GAP_X
    height = _PAD * 2 + max((len(m) for m in rows.values()), default=1) * (_HEIGHT + _GAP_Y)
    parts = [
        f'<svg class="service-graph" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="service graph of lane {escape(report.lane)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    ]
    for edge in report.edges:
        (x1, y1), (x2, y2) = place[edge.source], place[edge.target]
        start = (x1 + _WIDTH, y1 + _HEIGHT / 2)
        end = (x2, y2 + _HEIGHT / 2) if x2 > x1 else (x2 + _WIDTH / 2, y2)
        colour = COLOURS["lost"] if edge.lost else "#555"
        parts.append(
            f'<g class="edge" data-source="{escape(edge.source)}" '
            f'data-target="{escape(edge.target)}"><line x1="{start[0]}" y1="{start[1]}" '
            f'x2="{end[0]}" y2="{end[1]}" stroke="{colour}" stroke-width="2" '
            f'marker-end="url(#arrow)"/><text x="{(start[0] + end[0]) / 2}" '
            f'y="{(start[1] + end[1]) / 2 - 6}" font-size="11" text-anchor="middle" '
            f'fill="#333">{edge.calls}</text></g>'
        )
    for service in report.services:
        x, y = place[service.service]
        fill = COLOURS[service.colour]
        border = _FAILED_BORDER if service.errors else ""
        parts.append(
            f'<g class="node {service.colour}" data-service="{escape(service.service)}">'
            f'<rect x="{x}" y="{y}" width="{_WIDTH}" height="{_HEIGHT}" rx="8" '
            f'fill="{fill}"{border}/>'
            f'<text x="{x + _WIDTH / 2}" y="{y + 20}" font-size="14" font-weight="bold" '
            f'text-anchor="middle" fill="#fff">{escape(service.service)}</text>'
            f'<text x="{x + _WIDTH / 2}" y="{y + 38}" font-size="11" text-anchor="middle" '
            f'fill="#fff">{escape(_label(service))}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
