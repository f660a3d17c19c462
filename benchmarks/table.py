"""The table printer: plain text for a terminal, or reStructuredText for README.rst."""

from __future__ import annotations

from typing import List, Sequence

from benchmarks.context import Row

HEADERS = ("scenario", "case", "client", "metric", "value", "floor", "vs floor", "target", "met")


def table(rows: List[Row], style: str) -> str:
    cells = [HEADERS] + [
        (r.scenario, r.case, r.client, r.metric, r.value, r.floor, r.ratio, r.target, r.met)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()

    if style == "rst":
        rule = "  ".join("=" * w for w in widths)
        body = [line(r) for r in cells[1:]]
        return "\n".join([rule, line(cells[0]), rule, *body, rule])
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])
