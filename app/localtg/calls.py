"""The log of every Bot API call the server received, for tests and for the person debugging a bot."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class CallRecord:
    number: int
    method: str
    time: float
    chat_id: int | None = None
    request_bytes: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)
    status: int = 0
    error: str | None = None
    fault: str | None = None
    duration_ms: float = 0.0

    def public(self) -> dict[str, Any]:
        return {
            "n": self.number,
            "method": self.method,
            "time": self.time,
            "chat_id": self.chat_id,
            "request_bytes": self.request_bytes,
            "files": self.files,
            "status": self.status,
            "ok": self.status == 200,
            "error": self.error,
            "fault": self.fault,
            "duration_ms": round(self.duration_ms, 2),
        }


class CallLog:
    """Bounded, in arrival order; ``limit`` keeps a long dev session from growing without end."""

    def __init__(self, limit: int = 20_000) -> None:
        self._limit = limit
        self._records: list[CallRecord] = []
        self._counter = 0

    def start(self, method: str) -> CallRecord:
        self._counter += 1
        record = CallRecord(self._counter, method, time.time())
        self._records.append(record)
        if len(self._records) > self._limit:
            del self._records[: len(self._records) - self._limit]
        return record

    def select(self, method: str | None = None, since: int = 0) -> list[CallRecord]:
        wanted = method.lower() if method else None
        return [
            r for r in self._records if r.number > since and (wanted is None or r.method.lower() == wanted)
        ]

    def clear(self) -> None:
        self._records.clear()
