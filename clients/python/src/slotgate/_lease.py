"""What the sync and async leases share: the lease object's fields and the request bodies."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Dict, Optional

DEFAULT_SOCKET = "/run/slotgate/slotgate.sock"

# Without a readable claim TTL, renew this often (the daemon's default claim TTL is 60 s).
_FALLBACK_RENEW_S = 20.0


def socket_path(socket: Optional[str]) -> str:
    """``socket``, else ``$SLOTGATE_SOCKET``, else the packaged default (as the ``slotgate`` CLI does)."""
    return socket or os.environ.get("SLOTGATE_SOCKET") or DEFAULT_SOCKET


def acquire_body(holder: Optional[str], priority: Optional[int], wait: Optional[float], claim_ttl: Optional[float]) -> Dict[str, Any]:
    body: Dict[str, Any] = {}
    if holder is not None:
        body["holder"] = holder
    if priority is not None:
        body["priority"] = priority
    if wait is not None:
        body["wait_s"] = wait
    if claim_ttl is not None:
        body["claim_ttl_s"] = claim_ttl
    return body


def _timestamp(text: Any) -> Optional[datetime]:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class LeaseFields:
    """The lease as the daemon last answered it (``raw``), with its common fields as properties."""

    _data: Dict[str, Any]

    @property
    def raw(self) -> Dict[str, Any]:
        """The lease object of the daemon's last answer about it."""
        return dict(self._data)

    @property
    def id(self) -> str:
        return str(self._data["id"])

    @property
    def state(self) -> str:
        """``granted``, ``bound``, ``draining``, ``released`` or ``expired``."""
        return str(self._data.get("state", ""))

    @property
    def holder(self) -> str:
        return str(self._data.get("holder", ""))

    @property
    def priority(self) -> int:
        return int(self._data.get("priority", 0))

    @property
    def session_id(self) -> Optional[str]:
        value = self._data.get("session_id")
        return None if value is None else str(value)

    @property
    def expires_at(self) -> Optional[datetime]:
        """When an unbound lease expires unless renewed (None once bound)."""
        return _timestamp(self._data.get("expires_at"))

    @property
    def waited_ms(self) -> Optional[int]:
        value = self._data.get("waited_ms")
        return None if value is None else int(value)

    @property
    def headers(self) -> Dict[str, str]:
        """``{"Slotgate-Lease": id}``: sent with a session create through the proxy, the create uses this lease
        (and binds it) instead of queueing for another."""
        return {"Slotgate-Lease": self.id}

    def _renew_interval(self) -> float:
        """A third of the lease's claim TTL (its grant to its expiry), so that two renewals may fail in a row."""
        granted, expires = _timestamp(self._data.get("granted_at")), _timestamp(self._data.get("expires_at"))
        if granted is None or expires is None:
            return _FALLBACK_RENEW_S
        return max(0.05, (expires - granted).total_seconds() / 3)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._data.get('id')} {self.state}>"
