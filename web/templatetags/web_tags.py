"""Template helpers: money formatting and highlighting policy findings in text."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def usd(value: Any, places: int = 4) -> str:
    """A dollar amount with `places` decimals (Decimal arithmetic, no floats)."""
    try:
        amount = Decimal(str(value or 0))
    except InvalidOperation:
        return str(value)
    quantum = Decimal(1).scaleb(-int(places))
    return f"${amount.quantize(quantum):,}"


@register.filter
def highlight(text: str, findings: list[dict[str, Any]]) -> SafeString:
    """`text` with each finding's [start, end) span wrapped in <mark> (overlaps merged)."""
    spans = sorted(
        (int(f["start"]), int(f["end"]), f) for f in findings if int(f["end"]) > int(f["start"])
    )
    out, pos = [], 0
    for start, end, finding in spans:
        start = max(start, pos)
        if start >= end:
            continue
        out.append(escape(text[pos:start]))
        title = f"{finding['rule_id']} ({finding['type']}, {finding['action']})"
        out.append(format_html('<mark class="{}" title="{}">{}</mark>', finding["action"], title,
                               text[start:end]))  # fmt: skip
        pos = end
    out.append(escape(text[pos:]))
    return mark_safe("".join(str(part) for part in out))  # noqa: S308 (every part escaped above)
