"""Charts as server-side SVG (no JavaScript, no CDN): stacked monthly bars and horizontal bars.

Every label goes through :func:`html.escape`; the result is safe to put in a page as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

#: Colours of the series, in order (tbt, sps, news).
PALETTE = ("#2f6db5", "#d9822b", "#3c9a5f", "#8e44ad", "#c0392b")


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def stacked_months(
    months: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *, title: str, height: int = 220
) -> Markup:
    """Columns per month, one stacked segment per series (``(label, counts per month)``), with a legend."""
    width = max(320, 60 + 28 * len(months))
    top, bottom, left = 24, 40, 40
    plot_h = height - top - bottom
    totals = [sum(s[1][i] for s in series) for i in range(len(months))]
    peak = max(totals, default=0) or 1
    col_w = (width - left - 10) / max(len(months), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 5}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>',
    ]
    for i, month in enumerate(months):
        x = left + i * col_w + 2
        y: float = top + plot_h
        for k, (label, counts) in enumerate(series):
            n = counts[i]
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(col_w - 4, 1))}" height="{_num(h)}"'
                f' fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(month)} {escape(label)}: {n}</title></rect>'
            )
        if len(months) <= 24 or i % max(1, len(months) // 12) == 0:
            parts.append(
                f'<text x="{_num(x + col_w / 2)}" y="{top + plot_h + 14}" text-anchor="middle"'
                f' font-size="9">{escape(month)}</text>'
            )
    lx = left
    for k, (label, _counts) in enumerate(series):
        parts.append(
            f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>'
            f'<text x="{lx + 14}" y="{height - 5}" font-size="11">{escape(label)}</text>'
        )
        lx += 24 + 8 * len(label)
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(
    items: Sequence[tuple[str, int]], *, title: str, label_width: int = 220, width: int = 560
) -> Markup:
    """One horizontal bar per ``(label, value)``, value printed at the end of the bar."""
    row = 20
    height = 10 + row * max(len(items), 1)
    peak = max((v for _l, v in items), default=0) or 1
    plot_w = width - label_width - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}"><title>{escape(title)}</title>'
    ]
    fits = max(4, label_width // 11)  # about the number of CJK characters the label column holds
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        w = plot_w * value / peak
        shown = label if len(label) <= fits else label[: fits - 1] + "…"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end" font-size="11">{escape(shown)}</text>'
            f'<rect x="{label_width}" y="{y + 2}" width="{_num(max(w, 1))}" height="{row - 6}"'
            f' fill="{PALETTE[0]}"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{_num(label_width + w + 4)}" y="{y + 13}" font-size="11">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
