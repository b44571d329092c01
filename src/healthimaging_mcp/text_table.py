"""Plain aligned text tables, for the text block of tool answers and for command-line output."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(rows: Sequence[Sequence[object]], header: Sequence[str], *, rule: bool = False) -> str:
    """Columns padded to their widest cell, two spaces apart, trailing blanks trimmed; `rule` underlines the
    header with dashes. No rows: "(none)"."""
    if not rows:
        return "(none)"
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells: Sequence[object]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()

    lines = [line(header), *(["  ".join("-" * width for width in widths)] if rule else []), *map(line, rows)]
    return "\n".join(lines)
