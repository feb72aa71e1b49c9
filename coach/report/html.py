"""Small HTML pieces for the report: escaping, number formats, tables and the page's style.

Sizes are in points, on screen and in print, and no text is set below 8 pt.
The page is at most `PRINT_WIDTH_IN` + margins wide, so A4 and Letter print it
at 100 % (Chromium shrinks a page that is wider than the paper).
"""
from __future__ import annotations

import html
import re
from datetime import date

CSS = """
@page { margin: 14mm 14mm 16mm; }
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; font-size: 10pt; line-height: 1.35; color: #222;
       max-width: 7in; margin: 16px auto; padding: 0 12px; }
h1 { font-size: 15pt; margin: 0 0 2pt; } h2 { font-size: 12.5pt; margin: 18pt 0 6pt; border-bottom: 1px solid #bbb;
  padding-bottom: 2pt; } h3 { font-size: 10.5pt; margin: 8pt 0 3pt; }
p { margin: 3pt 0; }
table { border-collapse: collapse; margin: 4pt 0 8pt; font-size: 9pt; }
th, td { border: 1px solid #c8c8c8; padding: 2pt 5pt; text-align: left; vertical-align: top; }
th { background: #f1f1f1; font-weight: bold; } td.num { text-align: right; white-space: nowrap; }
.meta, .note { color: #444; } .note { font-size: 8.5pt; }
.cards { display: flex; gap: 10pt; flex-wrap: wrap; } .card { flex: 1 1 2.9in; border: 1px solid #bbb;
  border-radius: 3pt; padding: 4pt 8pt; } .card h3 { margin-top: 2pt; }
.big { font-size: 12pt; } .big b { font-size: 14pt; }
.estimate { border: 2px solid #b35806; background: #fff7ec; padding: 4pt 8pt; font-weight: bold; }
tr.interrupted td, tr.short td { background: #fdf1e4; } .status { white-space: nowrap; }
svg.plot { display: block; width: 6.5in; max-width: 100%; height: auto; margin: 4pt 0; }
figure, table, svg, .card { break-inside: avoid; } figure { margin: 0 0 10pt; }
table.long { break-inside: auto; } table.long td { white-space: nowrap; }
td.trend { white-space: nowrap; } table.long tr { break-inside: avoid; }
table.figures th, table.figures td { padding: 2pt 3pt; }
figcaption { font-size: 8.5pt; color: #444; }
@media print { body { margin: 0; padding: 0; max-width: none; } h2, h3 { break-after: avoid; }
  .pagebreak { break-before: page; } }
"""


def fmt(v, spec=".3f", none="–") -> str:
    return none if v is None else format(v, spec)


def pct(v, none="–") -> str:
    """A fraction as a whole percentage: 0.355 -> '36 %'."""
    return none if v is None else f"{100 * v:.0f} %"


def points(change: float) -> str:
    """A change of a rate in percentage points, signed: '+25 points'."""
    return f"{100 * change:+.0f} points".replace("-", "−")


def day(d: date | str) -> str:
    """'4 Mar 2024'."""
    d = date.fromisoformat(d[:10]) if isinstance(d, str) else d
    return f"{d.day} {d:%b %Y}"


def esc(v) -> str:
    return html.escape("" if v is None else str(v))


def opt(prefix: str, v) -> str:
    """`prefix` and the escaped value, or nothing when there is no value."""
    return prefix + esc(v) if v else ""


def table(headers: list[str], rows: list[str], cls: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    klass = f" class='{cls}'" if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


_NUMBER = re.compile(r"^[+−-]?(\d+(\.\d*)?|\.\d+)( ?%| mm| min| s)?$|^–$|^\d+/\d+$")


def row(cells: list, row_id: str | None = None, cls: str = "") -> str:
    """A table row; numeric cells are right-aligned. Cells are escaped."""
    rid = f' id="{esc(row_id)}"' if row_id else ""
    klass = f' class="{esc(cls)}"' if cls else ""
    tds = "".join(f"<td class='num'>{esc(c)}</td>" if _NUMBER.match(str(c)) else f"<td>{esc(c)}</td>"
                  for c in cells)
    return f"<tr{rid}{klass}>{tds}</tr>"
