"""Charts drawn as SVG on the server: a donut for shares, grouped bars for counts by year.

Each is a small self-contained <svg> with a title for screen readers; the page shows the
same figures as a table beside it.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

PALETTE = ("#1d5fa7", "#f0a830", "#2e9e6a", "#c0392b", "#7b5ea7", "#6b7c8f")


def _shares(values: list[int]) -> list[str]:
    """Each value's whole percent of their total, adding up to 100% (the largest remainders
    round up: 1, 6 and 1 read 13%, 75% and 12%, not 12%, 75% and 12%, which is 99%)."""
    total = sum(values)
    if not total:
        return ["0%"] * len(values)
    floors = [v * 100 // total for v in values]
    short = 100 - sum(floors)
    by_remainder = sorted(range(len(values)), key=lambda i: -(values[i] * 100 % total))
    for i in by_remainder[:short]:
        floors[i] += 1
    return [f"{p}%" for p in floors]


def _arc(cx: float, cy: float, r: float, start: float, end: float) -> str:
    large = 1 if end - start > math.pi else 0
    x1, y1 = cx + r * math.sin(start), cy - r * math.cos(start)
    x2, y2 = cx + r * math.sin(end), cy - r * math.cos(end)
    return f"M{x1:.2f},{y1:.2f} A{r},{r} 0 {large} 1 {x2:.2f},{y2:.2f}"


def donut(title: str, items: list[tuple[str, int]]) -> Markup:
    """Shares of a whole as a ring, with a legend of label, count and percent."""
    total = sum(v for _, v in items)
    shares = _shares([v for _, v in items])
    cx = cy = 70
    radius, width = 52, 22
    parts = [
        f'<svg class="chart" viewBox="0 0 320 140" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="none" stroke="#e6eaf0" '
        f'stroke-width="{width}"/>',
    ]
    angle = 0.0
    for i, (label, value) in enumerate(items):
        if not total or not value:
            continue
        sweep = 2 * math.pi * value / total
        colour = PALETTE[i % len(PALETTE)]
        if sweep >= 2 * math.pi - 1e-6:
            parts.append(
                f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="none" stroke="{colour}" '
                f'stroke-width="{width}"><title>{escape(label)} {value}</title></circle>'
            )
        else:
            path = _arc(cx, cy, radius, angle, angle + sweep)
            parts.append(
                f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{width}">'
                f"<title>{escape(label)} {value}（{shares[i]}）</title></path>"
            )
        angle += sweep
    parts.append(
        f'<text x="{cx}" y="{cy + 6}" text-anchor="middle" font-size="18" '
        f'font-weight="700" fill="#1f2933">{total}</text>'
    )
    for i, (label, value) in enumerate(items):
        y = 30 + i * 24
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="160" y="{y - 10}" width="12" height="12" rx="2" fill="{colour}"/>')
        parts.append(
            f'<text x="180" y="{y}" font-size="12" fill="#1f2933">{escape(label)} '
            f"{value}（{shares[i]}）</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(title: str, groups: list[str], series: list[str], values: list[list[int]]) -> Markup:
    """Counts per group (e.g. year) and series (e.g. certificate type) as grouped bars."""
    width, height, left, bottom, top = 320, 170, 34, 26, 24
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max([v for row in values for v in row] + [1])
    step = max(1, math.ceil(peak / 4))
    ceiling = step * 4
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in range(5):
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6eaf0"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#5f6b7a">{step * tick}</text>'
        )
    slot = plot_w / max(len(groups), 1)
    bar = min(18, (slot - 10) / max(len(series), 1))
    for g, group in enumerate(groups):
        x0 = left + g * slot + (slot - bar * len(series)) / 2
        for s, name in enumerate(series):
            value = values[g][s]
            h = plot_h * value / ceiling
            x, y = x0 + s * bar, top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(group)} {escape(name)} '
                f"{value}</title></rect>"
            )
        parts.append(
            f'<text x="{left + g * slot + slot / 2:.1f}" y="{height - 8}" font-size="11" '
            f'text-anchor="middle" fill="#1f2933">{escape(group)}</text>'
        )
    for s, name in enumerate(series):
        x, colour = left + s * 96, PALETTE[s % len(PALETTE)]
        parts.append(
            f'<rect x="{x}" y="6" width="10" height="10" rx="2" fill="{colour}"/>'
            f'<text x="{x + 14}" y="15" font-size="11" fill="#1f2933">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
