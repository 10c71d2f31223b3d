"""Injected failures: the next N calls of a method answer 429 / 5xx / a chosen error, or arrive late."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from app.localtg.errors import ApiError, too_many_requests

_SERVER_ERRORS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
KINDS = ("429", "5xx", "error", "latency")


@dataclass(slots=True)
class Fault:
    id: int
    method: str
    kind: str
    remaining: int
    retry_after: int = 1
    status: int = 500
    description: str | None = None
    latency: float = 0.0

    def matches(self, method: str) -> bool:
        return self.remaining > 0 and self.method in ("*", method.lower())

    def error(self) -> ApiError | None:
        if self.kind == "429":
            return too_many_requests(self.retry_after)
        if self.kind == "5xx":
            return ApiError(
                self.status, self.description or _SERVER_ERRORS.get(self.status, "Internal Server Error")
            )
        if self.kind == "error":
            return ApiError(self.status, self.description or "Bad Request: injected error")
        return None

    def public(self) -> dict[str, Any]:
        return {
            "fault_id": self.id,
            "method": self.method,
            "kind": self.kind,
            "remaining": self.remaining,
            "retry_after": self.retry_after,
            "status": self.status,
            "description": self.description,
            "latency": self.latency,
        }


class FaultPlan:
    """Faults in the order they were added; each call consumes at most one."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self,
        *,
        method: str,
        kind: str,
        count: int = 1,
        retry_after: int = 1,
        status: int | None = None,
        description: str | None = None,
        latency: float = 0.0,
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        default_status = {"429": 429, "5xx": 500, "error": 400, "latency": 200}[kind]
        fault = Fault(
            id=next(self._ids),
            method=method.lower() if method != "*" else "*",
            kind=kind,
            remaining=count,
            retry_after=retry_after,
            status=status or default_status,
            description=description,
            latency=latency,
        )
        if fault.kind == "5xx" and fault.status < 500:
            raise ValueError("a 5xx fault needs a status of 500 or more")
        self._faults.append(fault)
        return fault

    def take(self, method: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method):
                fault.remaining -= 1
                return fault
        return None

    def active(self) -> list[Fault]:
        return [f for f in self._faults if f.remaining > 0]

    def clear(self) -> None:
        self._faults.clear()
