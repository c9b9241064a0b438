"""What the daemon answers besides leases: its errors and the queue positions of a streamed wait."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional


class SlotgateError(Exception):
    """An error answer of slotgated: ``code`` is the API's (``wait_timeout``, ``queue_full``, ``lease_conflict``,
    ``lease_not_found``, ``forbidden``, ``bad_request``, ...), ``status`` the HTTP status (0 for an error event of a
    streamed wait, which arrives in a 200 answer), ``retry_after`` the seconds of ``Retry-After`` if the answer had
    one."""

    def __init__(self, code: str, message: str, status: int = 0, retry_after: Optional[float] = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @classmethod
    def from_answer(cls, status: int, body: bytes, headers: Mapping[str, str]) -> "SlotgateError":
        retry_after: Optional[float] = None
        value = headers.get("retry-after")
        if value is not None:
            try:
                retry_after = float(value)
            except ValueError:
                retry_after = None
        try:
            detail = json.loads(body.decode("utf-8"))["error"]
            return cls(str(detail["code"]), str(detail.get("message", "")), status, retry_after)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            text = body[:200].decode("utf-8", "replace").strip()
            return cls("unexpected_answer", f"HTTP {status} without an error object: {text!r}", status, retry_after)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> "SlotgateError":
        detail = event.get("error")
        if isinstance(detail, dict):
            return cls(str(detail.get("code", "unexpected_answer")), str(detail.get("message", "")))
        return cls("unexpected_answer", f"error event without an error object: {dict(event)!r}")


@dataclass(frozen=True)
class Position:
    """A ``queued`` event of a streamed wait: the 1-based place in grant order, how many wait in all, and the
    daemon's estimate of the seconds left (None when it has none, or is a version that does not send one). ``raw``
    is the whole event, fields this version does not know included."""

    position: int
    waiting: int
    eta_s: Optional[float] = None
    raw: Dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_event(cls, event: Dict[str, Any]) -> "Position":
        eta = event.get("eta_s")
        return cls(
            position=int(event.get("position", 0)),
            waiting=int(event.get("waiting", 0)),
            eta_s=float(eta) if isinstance(eta, (int, float)) and not isinstance(eta, bool) else None,
            raw=dict(event),
        )
