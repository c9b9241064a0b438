"""The asyncio client: ``AsyncGate``, ``AsyncSlot`` and ``AsyncLease``, HTTP/1.1 on ``asyncio.open_unix_connection``."""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import TYPE_CHECKING, Any, AsyncIterator, Dict, Optional, Type

from ._errors import Position, SlotgateError
from ._lease import LeaseFields, acquire_body, socket_path

if TYPE_CHECKING:
    import hai_agents

_LINE_LIMIT = 1 << 20


class _Answer:
    """An answer's head and a reader of its body (``Content-Length``, chunked, or up to the end)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int, headers: Dict[str, str]) -> None:
        self.reader = reader
        self.writer = writer
        self.status = status
        self.headers = headers
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._left: Optional[int] = int(length) if length is not None and not self._chunked else None
        self._done = False
        self._buffer = b""

    async def _piece(self) -> bytes:
        """The next piece of the body, b"" at its end."""
        if self._done:
            return b""
        if self._chunked:
            size_line = await self.reader.readline()
            if not size_line:
                raise SlotgateError("unexpected_answer", "the daemon closed the connection inside a chunked answer")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await self.reader.readline()).strip():
                    pass  # trailers
                self._done = True
                return b""
            data = await self.reader.readexactly(size)
            await self.reader.readexactly(2)
            return data
        if self._left is not None:
            if self._left == 0:
                self._done = True
                return b""
            data = await self.reader.read(min(self._left, 65536))
            if not data:
                raise SlotgateError("unexpected_answer", "the daemon closed the connection inside an answer")
            self._left -= len(data)
            return data
        data = await self.reader.read(65536)
        if not data:
            self._done = True
        return data

    async def body(self) -> bytes:
        parts = [self._buffer]
        self._buffer = b""
        while True:
            piece = await self._piece()
            if not piece:
                return b"".join(parts)
            parts.append(piece)

    async def line(self) -> bytes:
        """The next line of the body (with its newline), b"" at its end."""
        while b"\n" not in self._buffer:
            piece = await self._piece()
            if not piece:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += piece
            if len(self._buffer) > _LINE_LIMIT:
                raise SlotgateError("unexpected_answer", "an event line longer than 1 MiB")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line + b"\n"

    def close(self) -> None:
        self.writer.close()


class AsyncGate:
    """``Gate`` on asyncio: the same socket choice, ``timeout`` and methods, awaited."""

    def __init__(self, socket: Optional[str] = None, *, timeout: float = 30.0) -> None:
        self.socket = socket_path(socket)
        self.timeout = timeout

    async def _open(self, method: str, target: str, body: Optional[Dict[str, Any]]) -> _Answer:
        reader, writer = await asyncio.open_unix_connection(self.socket, limit=_LINE_LIMIT)
        try:
            data = b"" if body is None else json.dumps(body).encode()
            head = f"{method} {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(data)}\r\nConnection: close\r\n"
            if body is not None:
                head += "Content-Type: application/json\r\n"
            writer.write(head.encode("ascii") + b"\r\n" + data)
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
                raise SlotgateError("unexpected_answer", f"not an HTTP answer: {status_line[:100]!r}")
            headers: Dict[str, str] = {}
            while True:
                line = await reader.readline()
                if not line.strip():
                    break
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            return _Answer(reader, writer, int(parts[1]), headers)
        except BaseException:
            writer.close()
            raise

    async def _exchange(self, method: str, target: str, body: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        answer = await self._open(method, target, body)
        try:
            text = await answer.body()
        finally:
            answer.close()
        if answer.status >= 300:
            raise SlotgateError.from_answer(answer.status, text, answer.headers)
        return json.loads(text) if text.strip() else {}

    async def _call(self, method: str, target: str, body: Optional[Dict[str, Any]] = None, waiting: bool = False) -> Dict[str, Any]:
        """One request and its JSON answer; a request that waits for a slot has no timeout of ours."""
        if waiting:
            return await self._exchange(method, target, body)
        return await asyncio.wait_for(self._exchange(method, target, body), self.timeout)

    async def status(self) -> Dict[str, Any]:
        """``GET /v1/status``."""
        return await self._call("GET", "/v1/status")

    async def leases(self) -> Dict[str, Any]:
        """``GET /v1/leases``."""
        return await self._call("GET", "/v1/leases")

    async def lease(self, lease_id: str) -> Dict[str, Any]:
        """``GET /v1/leases/{id}``."""
        return await self._call("GET", f"/v1/leases/{lease_id}")

    def slot(self, holder: Optional[str] = None, priority: Optional[int] = None, wait: Optional[float] = None, *, claim_ttl: Optional[float] = None) -> "AsyncSlot":
        """``async with gate.slot(...) as lease:``, as ``Gate.slot``; renewal runs in a task."""
        return AsyncSlot(self, acquire_body(holder, priority, wait, claim_ttl))

    def hai_client(self, **kwargs: Any) -> "hai_agents.AsyncClient":
        """``slotgate.hai_client(asynchronous=True, socket=this gate's socket, **kwargs)``."""
        from ._hai import hai_client

        kwargs.setdefault("socket", self.socket)
        kwargs.pop("asynchronous", None)
        return hai_client(asynchronous=True, **kwargs)


class AsyncLease(LeaseFields):
    """``Lease`` on asyncio."""

    def __init__(self, gate: AsyncGate, data: Dict[str, Any]) -> None:
        self._gate = gate
        self._data = data
        self.lost: Optional[SlotgateError] = None

    async def bind(self, session_id: str) -> None:
        self._data = await self._gate._call("POST", f"/v1/leases/{self.id}/session", {"session_id": session_id})

    async def renew(self) -> None:
        self._data = await self._gate._call("POST", f"/v1/leases/{self.id}/renew", {})

    async def refresh(self) -> None:
        self._data = await self._gate.lease(self.id)

    async def release(self, cancel_session: bool = False) -> None:
        target = f"/v1/leases/{self.id}" + ("?cancel_session=1" if cancel_session else "")
        self._data = await self._gate._call("DELETE", target)


class AsyncSlot:
    """``Slot`` on asyncio: ``async with`` and ``async for position in slot.events()``."""

    def __init__(self, gate: AsyncGate, body: Dict[str, Any]) -> None:
        self._gate = gate
        self._body = body
        self._stream: Optional[_Answer] = None
        self._granted: Optional[Dict[str, Any]] = None
        self._lease: Optional[AsyncLease] = None
        self._renewer: Optional["asyncio.Task[None]"] = None

    async def events(self) -> AsyncIterator[Position]:
        """As ``Slot.events``."""
        if self._granted is not None or self._lease is not None:
            return
        if self._stream is None:
            self._stream = await self._gate._open("POST", "/v1/leases?stream=1", self._body)
            if self._stream.status >= 300:
                answer = self._stream
                text = await answer.body()
                self._close_stream()
                raise SlotgateError.from_answer(answer.status, text, answer.headers)
        while True:
            line = await self._stream.line()
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

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    async def take(self) -> AsyncLease:
        """Waits for the slot and starts the renewal task; ``__aenter__``."""
        if self._lease is not None:
            return self._lease
        if self._stream is not None:
            async for _ in self.events():
                pass
        if self._granted is None:
            self._granted = await self._gate._call("POST", "/v1/leases", self._body, waiting=True)
        self._lease = AsyncLease(self._gate, self._granted)
        if self._lease.state == "granted":
            self._renewer = asyncio.ensure_future(self._renew(self._lease))
        return self._lease

    @staticmethod
    async def _renew(lease: AsyncLease) -> None:
        interval = lease._renew_interval()
        while True:
            await asyncio.sleep(interval)
            if lease.state != "granted":
                return
            try:
                await lease.renew()
            except SlotgateError as error:
                if error.code in ("lease_conflict", "lease_not_found"):
                    lease.lost = error
                    return
            except (OSError, asyncio.TimeoutError):
                pass

    async def close(self, cancel_session: bool = False) -> None:
        """Stops renewing and releases the lease, or withdraws a wait still open; ``__aexit__``."""
        self._close_stream()
        if self._renewer is not None:
            self._renewer.cancel()
            try:
                await self._renewer
            except asyncio.CancelledError:
                pass
            self._renewer = None
        lease, self._lease = self._lease, None
        if lease is None and self._granted is not None:
            lease = AsyncLease(self._gate, self._granted)
        self._granted = None
        if lease is None:
            return
        try:
            await lease.release(cancel_session=cancel_session)
        except SlotgateError as error:
            if error.code != "lease_not_found":
                raise

    async def __aenter__(self) -> AsyncLease:
        try:
            return await self.take()
        except BaseException:
            await self.close()
            raise

    async def __aexit__(self, kind: Optional[Type[BaseException]], error: Optional[BaseException], trace: Optional[TracebackType]) -> None:
        if error is None:
            await self.close()
            return
        try:
            await self.close()
        except Exception:
            pass
