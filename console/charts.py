"""ECharts options built on the server and handed to the page as JSON in a data attribute
(static/console.js draws them): no inline script, no Node build."""

from __future__ import annotations

import json
from typing import Any

FONT = {"fontFamily": "Noto Sans CJK SC, sans-serif"}


def to_attr(option: dict[str, Any]) -> str:
    return json.dumps(option, ensure_ascii=False, separators=(",", ":"))


def bar_chart(categories: list[str], values: list[int], name: str) -> str:
    return to_attr(
        {
            "textStyle": FONT,
            "aria": {"enabled": True},
            "grid": {"left": 40, "right": 10, "top": 20, "bottom": 40, "containLabel": True},
            "xAxis": {"type": "category", "data": categories, "axisLabel": {"interval": 0, "rotate": 30}},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [{"name": name, "type": "bar", "data": values, "label": {"show": True, "position": "top"}}],
        }
    )


def share_chart(rows: list[tuple[str, float, float]], line: float | None, line_label: str) -> str:
    """Horizontal bars of shares (0..1) by area and by headcount, with a threshold line."""
    names = [r[0] for r in rows]
    mark: dict[str, Any] = {}
    if line is not None:
        mark = {"markLine": {"symbol": "none", "data": [{"xAxis": round(line * 100, 2), "name": line_label}],
                             "label": {"formatter": line_label}, "lineStyle": {"type": "dashed", "color": "#b3261e"}}}
    return to_attr(
        {
            "textStyle": FONT,
            "aria": {"enabled": True},
            "legend": {"top": 0},
            "grid": {"left": 10, "right": 30, "top": 30, "bottom": 10, "containLabel": True},
            "xAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
            "yAxis": {"type": "category", "data": names},
            "series": [
                {"name": "按面积", "type": "bar", "data": [round(r[1] * 100, 2) for r in rows], **mark},
                {"name": "按人数", "type": "bar", "data": [round(r[2] * 100, 2) for r in rows]},
            ],
        }
    )


def reach_chart(rows: list[tuple[str, int, int]]) -> str:
    """Read and unread households by building, stacked."""
    return to_attr(
        {
            "textStyle": FONT,
            "aria": {"enabled": True},
            "legend": {"top": 0},
            "grid": {"left": 10, "right": 10, "top": 30, "bottom": 10, "containLabel": True},
            "xAxis": {"type": "category", "data": [r[0] for r in rows]},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {"name": "已读", "type": "bar", "stack": "h", "data": [r[2] for r in rows]},
                {"name": "未读", "type": "bar", "stack": "h", "data": [r[1] - r[2] for r in rows]},
            ],
        }
    )
