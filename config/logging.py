"""Structured logging: one JSON line per record, with personal data scrubbed out."""

import json
import logging
import re
import traceback
from datetime import UTC, datetime

# Phone numbers in E.164 (+8210...) or Korean domestic form (010-1234-5678), session tokens,
# one-time codes in key=value form. Scrubbed from every message and traceback we emit.
_PATTERNS = [
    (re.compile(r"\+\d{8,15}|\b01[016789][- ]?\d{3,4}[- ]?\d{4}\b"), "[phone]"),
    (
        re.compile(
            r"(?i)(x-session-token|session[_-]?token|sessionid|ticket|code)"
            r"([\"']?\s*[:=]\s*[\"']?)[\w\-.:]+"
        ),
        r"\1\2[redacted]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class JSONFormatter(logging.Formatter):
    """One line per record. For request errors: method, path (no query string), status."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            entry["request_id"] = redact(str(rid))
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            entry.update(access)
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "method"):
            entry["method"] = request.method
            entry["path"] = redact(getattr(request, "path", ""))
        status_code = getattr(record, "status_code", None)
        if status_code is not None:
            entry["status"] = status_code
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _exc, tb = record.exc_info
            # The exception's message may carry user input; the type and the frames are enough
            # to find the bug.
            entry["error"] = exc_type.__name__
            entry["where"] = [
                f"{frame.filename}:{frame.lineno}:{frame.name}"
                for frame in traceback.extract_tb(tb)[-8:]
            ]
        return json.dumps(entry, ensure_ascii=False, default=str)
