"""The report's two drawings, written as inline SVG by this code: no plotting library, nothing
fetched, every text from the manifest escaped. They are sized in the viewBox and scale with the page.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from repro.audit.model import GraphNode, Provenance
from repro.compare.histogram import ErrorHistogram

GOOD, BAD, NEUTRAL, INK, MUTED = "#1a7f37", "#cf222e", "#57606a", "#1f2328", "#8c959f"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def histogram(h: ErrorHistogram, *, label: str = "") -> Markup:
    """Bars per decade of |recorded - replayed|, exact zeros and overflow at the ends; bar
    heights on a log scale of the count (one stray element still shows), counts on hover."""
    bars = [("0", h.zero, "exactly equal")]
    bars += [(str(h.low_exp + i), c, f"[1e{h.low_exp + i}, 1e{h.low_exp + i + 1})") for i, c in enumerate(h.counts)]
    bars.append(("≥", h.over, f"1e{h.high_exp} or more"))
    if h.nan:
        bars.append(("NaN", h.nan, "NaN"))
    bar_w, gap, left, top, plot_h = 12, 2, 34, 8, 56
    width = left + len(bars) * (bar_w + gap) + 8
    height = top + plot_h + 30
    peak = max((c for _, c, _ in bars), default=0)
    scale = math.log10(1 + peak) or 1.0
    out = [f'<svg class="hist" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{escape(label or "histogram of absolute errors")}">',
           f"<title>{escape(label or 'absolute errors')}: {h.total} values</title>",
           f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 6}" y2="{top + plot_h}" stroke="{MUTED}"/>',
           f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" font-size="9" fill="{NEUTRAL}">{peak}</text>',
           f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="9" fill="{NEUTRAL}">0</text>']
    for n, (tick, count, span) in enumerate(bars):
        x = left + n * (bar_w + gap)
        bh = 0.0 if not count else max(1.5, plot_h * math.log10(1 + count) / scale)
        color = NEUTRAL if tick == "0" else (BAD if tick in ("≥", "NaN") else "#0969da")
        out.append(f'<rect x="{x}" y="{top + plot_h - bh:.1f}" width="{bar_w}" height="{bh:.1f}" fill="{color}">'
                   f"<title>{escape(span)}: {count}</title></rect>")
        if tick in ("0", "≥", "NaN") or (tick.lstrip("-").isdigit() and int(tick) % 6 == 0):
            text = tick if tick in ("0", "≥", "NaN") else f"1e{tick}"
            out.append(f'<text x="{x + bar_w / 2}" y="{top + plot_h + 12}" text-anchor="middle" font-size="9" '
                       f'fill="{NEUTRAL}">{escape(text)}</text>')
    out.append(f'<text x="{left}" y="{height - 4}" font-size="9" fill="{NEUTRAL}">|recorded − replayed| per decade '
               f'(bar height: log of the count)</text>')
    out.append("</svg>")
    return Markup("".join(out))


NODE_W, NODE_H, ROW, COL_GAP = 210, 38, 50, 60


def _node(x: float, y: float, node: GraphNode, *, fill: str, stroke: str) -> str:
    full = f"{node.label} — {node.detail}" if node.detail else node.label
    return (f'<g class="node node-{escape(node.kind)}"><title>{escape(full)}</title>'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{x + 8}" y="{y + 16}" font-size="11" fill="{INK}" font-family="monospace">'
            f"{escape(_short(node.label, 30))}</text>"
            f'<text x="{x + 8}" y="{y + 30}" font-size="9" fill="{NEUTRAL}">{escape(_short(node.detail, 38))}</text></g>')


def _edge(x1: float, y1: float, x2: float, y2: float, *, color: str = MUTED, dashed: bool = False) -> str:
    mid = (x1 + x2) / 2
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    marker = "good" if color == GOOD else "bad" if color == BAD else "plain"
    return (f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" stroke="{color}" stroke-width="1.4"'
            f'{dash} marker-end="url(#arrow-{marker})"/>')


def provenance(g: Provenance) -> Markup:
    """Inputs → the command (its image and code) → outputs, and each replay pointing at the
    outputs it verified (green) or found not reproduced (red)."""
    cols = [20 + i * (NODE_W + COL_GAP) for i in range(4 if g.replays else 3)]
    ins = list(g.inputs) + ([GraphNode("more", f"… {g.more_inputs} more inputs")] if g.more_inputs else [])
    outs = list(g.outputs) + ([GraphNode("more", f"… {g.more_outputs} more outputs")] if g.more_outputs else [])
    rows = max(len(ins), len(outs), len(g.replays), 1)
    height = 40 + rows * ROW
    width = cols[-1] + NODE_W + 20

    def y_of(i: int, n: int) -> float:
        return 30 + (rows - n) * ROW / 2 + i * ROW

    out = [f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="provenance graph">',
           "<title>provenance: inputs, command, outputs, replays</title><defs>"]
    for name, color in (("plain", MUTED), ("good", GOOD), ("bad", BAD)):
        out.append(f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
                   f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>')
    out.append("</defs>")
    for i, title in enumerate(("inputs", "command", "outputs", "replays")[: len(cols)]):
        out.append(f'<text x="{cols[i]}" y="16" font-size="11" font-weight="bold" fill="{NEUTRAL}">{title}</text>')
    cy = y_of(0, 1)
    for i, _ in enumerate(ins):
        y = y_of(i, len(ins))
        out.append(_edge(cols[0] + NODE_W, y + NODE_H / 2, cols[1], cy + NODE_H / 2))
    for i, _ in enumerate(outs):
        y = y_of(i, len(outs))
        out.append(_edge(cols[1] + NODE_W, cy + NODE_H / 2, cols[2], y + NODE_H / 2))
    for ri, oi in g.edges:
        r = g.replays[ri]
        color = GOOD if r.good else BAD
        out.append(_edge(cols[3], y_of(ri, len(g.replays)) + NODE_H / 2, cols[2] + NODE_W,
                         y_of(oi, len(outs)) + NODE_H / 2, color=color, dashed=True))
    for i, n in enumerate(ins):
        out.append(_node(cols[0], y_of(i, len(ins)), n, fill="#f6f8fa", stroke=MUTED))
    out.append(_node(cols[1], cy, g.command, fill="#ddf4ff", stroke="#0969da"))
    for i, n in enumerate(outs):
        out.append(_node(cols[2], y_of(i, len(outs)), n, fill="#f6f8fa", stroke=MUTED))
    for i, n in enumerate(g.replays):
        color = GOOD if n.good else BAD
        out.append(_node(cols[3], y_of(i, len(g.replays)), n, fill="#dafbe1" if n.good else "#ffebe9", stroke=color))
    out.append("</svg>")
    return Markup("".join(out))
