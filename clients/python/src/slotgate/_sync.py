"""The blocking client: ``Gate``, ``Slot`` and ``Lease`` over ``http.client`` on the Unix socket."""

from __future__ import annotations

import http.client
import json
import socket as _socket
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional, Tuple, Type

from ._errors import Position, SlotgateError
from ._lease import LeaseFields, acquire_body, socket_path

if TYPE_CHECKING:
    import hai_agents


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: Optional[float]) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class Gate:
    """slotgated on its Unix socket: ``socket``, else ``$SLOTGATE_SOCKET``, else ``/run/slotgate/slotgate.sock``.

    ``timeout`` bounds every request but the wait for a slot, which lasts as long as the ``wait`` asked for (the
    daemon answers ``wait_timeout`` when it runs out). A Gate holds no connection and may be shared by threads."""

    def __init__(self, socket: Optional[str] = None, *, timeout: float = 30.0) -> None:
        self.socket = socket_path(socket)
        self.timeout = timeout

    # The requests

    def _open(self, method: str, target: str, body: Optional[Dict[str, Any]], timeout: Optional[float]) -> Tuple[_UnixConnection, http.client.HTTPResponse]:
        connection = _UnixConnection(self.socket, timeout)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} if data is not None else {}
            connection.request(method, target, body=data, headers=headers)
            return connection, connection.getresponse()
        except BaseException:
            connection.close()
            raise

    def _call(self, method: str, target: str, body: Optional[Dict[str, Any]] = None, waiting: bool = False) -> Dict[str, Any]:
        """One request and its JSON answer; a request that waits for a slot has no timeout of ours."""
        connection, response = self._open(method, target, body, None if waiting else self.timeout)
        try:
            text = response.read()
        finally:
            connection.close()
        if response.status >= 300:
            raise SlotgateError.from_answer(response.status, text, {k.lower(): v for k, v in response.getheaders()})
        return json.loads(text) if text.strip() else {}

    # The API

    def status(self) -> Dict[str, Any]:
        """``GET /v1/status``: slots, queue, upstream, tokens, as the daemon answers it."""
        return self._call("GET", "/v1/status")

    def leases(self) -> Dict[str, Any]:
        """``GET /v1/leases``: ``{"leases": [...], "waiting": [...]}``."""
        return self._call("GET", "/v1/leases")

    def lease(self, lease_id: str) -> Dict[str, Any]:
        """``GET /v1/leases/{id}``: one lease (``SlotgateError`` ``lease_not_found`` once forgotten)."""
        return self._call("GET", f"/v1/leases/{lease_id}")

    def slot(self, holder: Optional[str] = None, priority: Optional[int] = None, wait: Optional[float] = None, *, claim_ttl: Optional[float] = None) -> "Slot":
        """A slot to take: ``with gate.slot(...) as lease:`` waits for it (up to ``wait`` seconds, 0 to try once,
        None for the daemon's default), keeps it while the block runs, and releases it on the way out.

        ``holder`` names the job in listings and for fair ordering, ``priority`` (-10..10) orders the queue."""
        return Slot(self, acquire_body(holder, priority, wait, claim_ttl))

    def hai_client(self, **kwargs: Any) -> "hai_agents.Client":
        """``slotgate.hai_client(socket=this gate's socket, **kwargs)``."""
        from ._hai import hai_client

        kwargs.setdefault("socket", self.socket)
        kwargs.pop("asynchronous", None)
        return hai_client(asynchronous=False, **kwargs)


class Lease(LeaseFields):
    """A slot held: what the daemon answered about it last, and the changes a holder makes."""

    def __init__(self, gate: Gate, data: Dict[str, Any]) -> None:
        self._gate = gate
        self._data = data
        self._lock = threading.Lock()
        self.lost: Optional[SlotgateError] = None
        """Set when a renewal found the lease ended (expired, released by someone else): the slot is no longer
        held."""

    def _update(self, data: Dict[str, Any]) -> None:
        with self._lock:
            self._data = data

    def bind(self, session_id: str) -> None:
        """Attaches the platform session this slot was taken for; a bound lease no longer expires."""
        self._update(self._gate._call("POST", f"/v1/leases/{self.id}/session", {"session_id": session_id}))

    def renew(self) -> None:
        """Pushes an unbound lease's expiry to now + its claim TTL (the context manager does this itself)."""
        self._update(self._gate._call("POST", f"/v1/leases/{self.id}/renew", {}))

    def refresh(self) -> None:
        """Reads the lease again (``GET /v1/leases/{id}``)."""
        self._update(self._gate.lease(self.id))

    def release(self, cancel_session: bool = False) -> None:
        """Gives the slot back (a bound lease whose session still runs goes ``draining`` until it ends);
        ``cancel_session`` also asks the platform to cancel the session. Releasing an ended lease is a no-op."""
        target = f"/v1/leases/{self.id}" + ("?cancel_session=1" if cancel_session else "")
        self._update(self._gate._call("DELETE", target))


class Slot:
    """A slot being taken (``Gate.slot``): a context manager giving a ``Lease``, and ``events()`` to watch the
    queue position first."""

    def __init__(self, gate: Gate, body: Dict[str, Any]) -> None:
        self._gate = gate
        self._body = body
        self._stream: Optional[Tuple[_UnixConnection, http.client.HTTPResponse]] = None
        self._granted: Optional[Dict[str, Any]] = None
        self._lease: Optional[Lease] = None
        self._stop = threading.Event()
        self._renewer: Optional[threading.Thread] = None

    # Waiting

    def events(self) -> Iterator[Position]:
        """Waits for the slot as a streamed request, yielding a ``Position`` when the request is queued and
        whenever its place changes (at least every 15 s). The iteration ends when the slot is granted (then enter
        the ``with`` block to hold it) and raises ``SlotgateError`` when the wait fails. A slot free at once
        yields nothing. Leaving the loop early and calling ``close()`` withdraws the request."""
        if self._granted is not None or self._lease is not None:
            return
        if self._stream is None:
            self._stream = self._gate._open("POST", "/v1/leases?stream=1", self._body, None)
            connection, response = self._stream
            if response.status >= 300:
                text = response.read()
                self._close_stream()
                raise SlotgateError.from_answer(response.status, text, {k.lower(): v for k, v in response.getheaders()})
        response = self._stream[1]
        while True:
            line = response.readline()
            if not line:
                self._close_stream()
                raise SlotgateError("unexpected_answer", "the daemon closed the stream before the slot was granted or refused")
            if not line.strip():
                continue
            event = json.loads(line)
            kind = event.get("event")
            if kind == "queued":
                yield Position.from_event(event)
            elif kind == "granted":
                self._granted = event["lease"]
                self._close_stream()
                return
            elif kind == "error":
                self._close_stream()
                raise SlotgateError.from_event(event)
            # Other events (a newer daemon's) are skipped.

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream[0].close()
            self._stream = None

    def take(self) -> Lease:
        """Waits for the slot (finishing a stream ``events()`` began) and starts renewing it; ``__enter__``."""
        if self._lease is not None:
            return self._lease
        if self._stream is not None:
            for _ in self.events():
                pass
        if self._granted is None:
            self._granted = self._gate._call("POST", "/v1/leases", self._body, waiting=True)
        self._lease = Lease(self._gate, self._granted)
        if self._lease.state == "granted":
            self._renewer = threading.Thread(target=self._renew, name=f"slotgate-renew-{self._lease.id}", daemon=True)
            self._renewer.start()
        return self._lease

    def _renew(self) -> None:
        lease = self._lease
        assert lease is not None
        interval = lease._renew_interval()
        while not self._stop.wait(interval):
            if lease.state != "granted":
                return  # bound: no expiry; ended: nothing to keep
            try:
                lease.renew()
            except SlotgateError as error:
                if error.code in ("lease_conflict", "lease_not_found"):
                    lease.lost = error
                    return
            except OSError:
                pass  # the daemon restarting: try again at the next turn

    def close(self, cancel_session: bool = False) -> None:
        """Stops renewing and releases the lease, or withdraws a wait still open; ``__exit__``."""
        self._stop.set()
        self._close_stream()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        lease, self._lease = self._lease, None
        if lease is None and self._granted is not None:
            lease = Lease(self._gate, self._granted)  # granted by a stream, never entered
        self._granted = None
        if lease is None:
            return
        try:
            lease.release(cancel_session=cancel_session)
        except SlotgateError as error:
            if error.code != "lease_not_found":
                raise

    def __enter__(self) -> Lease:
        try:
            return self.take()
        except BaseException:
            self.close()
            raise

    def __exit__(self, kind: Optional[Type[BaseException]], error: Optional[BaseException], trace: Optional[TracebackType]) -> None:
        if error is None:
            self.close()
            return
        try:
            self.close()
        except Exception:
            pass  # the block's own exception is the one to see
