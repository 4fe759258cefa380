"""Logs as one JSON object a line in production (time, level, logger, message, and the request's
request_id, user_id, route, status, duration_ms when a record carries them); text in development."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# The extra fields a record may carry (``log.info(..., extra={...})``) that the JSON line keeps.
REQUEST_FIELDS = ("request_id", "user_id", "route", "method", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(*, json_lines: bool) -> None:
    """Production: JSON lines on stderr at INFO. Development and tests (``json_lines=False``) keep Python's text."""
    # SpiffWorkflow logs every task-state change at INFO (~55 lines a ticket, 3/4 of all lines); measured by
    # bench/http_load.py, writing them made an engine step cost 1.2-1.7x. Its warnings and errors still show.
    logging.getLogger("spiff").setLevel(logging.WARNING)
    if not json_lines:
        return
    root = logging.getLogger()
    if any(isinstance(handler.formatter, JsonFormatter) for handler in root.handlers):
        return  # a second app in one process (gunicorn preload, the CLI) configures once
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers = [handler]
    root.setLevel(logging.INFO)
