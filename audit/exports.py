"""Filtering and streaming export (CSV, JSON Lines) of audit records and usage rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

EXPORT_LIMIT = 1_000_000


def _when(value: str, name: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise ValidationError({name: "Use an ISO 8601 timestamp with a time zone."})
    return parsed


def apply_filters(
    qs: QuerySet[Any], params: Any, *, team_field: str, key_field: str
) -> QuerySet[Any]:
    """Time, team, key, model, decision and status filters shared by audit and usage."""
    if params.get("since"):
        qs = qs.filter(created_at__gte=_when(params["since"], "since"))
    if params.get("until"):
        qs = qs.filter(created_at__lt=_when(params["until"], "until"))
    if params.get("team"):
        qs = qs.filter(**{team_field: params["team"]})
    if params.get("key"):
        qs = qs.filter(**{key_field: params["key"]})
    if params.get("model"):
        qs = qs.filter(model_requested=params["model"])
    if params.get("status"):
        if not params["status"].isdigit():
            raise ValidationError({"status": "An HTTP status code."})
        qs = qs.filter(status=int(params["status"]))
    return qs


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return value


def _csv_lines(rows: Iterator[dict[str, Any]], fields: Sequence[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(row[f]) for f in fields])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _jsonl_lines(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    for row in rows:
        yield orjson.dumps(row, default=str) + b"\n"


def export(qs: QuerySet[Any], fields: Sequence[str], fmt: str, name: str) -> StreamingHttpResponse:
    """Stream every matching row (up to EXPORT_LIMIT) without loading them all in memory."""
    rows = qs.order_by("created_at", "id").values(*fields)[:EXPORT_LIMIT].iterator(chunk_size=2000)
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_lines(rows, fields), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    elif fmt == "jsonl":
        response = StreamingHttpResponse(_jsonl_lines(rows), content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="{name}.jsonl"'
    else:
        raise ValidationError({"as": "Use csv or jsonl."})
    return response
