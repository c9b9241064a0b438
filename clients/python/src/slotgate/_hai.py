"""``hai_client``: the official SDK (``hai-agents``) wired to the daemon's proxy on its Unix socket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Literal, Optional, Union, overload

from ._lease import socket_path

if TYPE_CHECKING:
    import hai_agents

# The daemon's default wait in the queue (queue.default_wait_s) is 300 s: the SDK's own default timeout, 60 s,
# would give up on a create still queued.
_DEFAULT_TIMEOUT_S = 330.0


@overload
def hai_client(*, asynchronous: Literal[False] = ..., socket: Optional[str] = ..., holder: Optional[str] = ..., priority: Optional[int] = ..., wait: Optional[float] = ..., timeout: Optional[float] = ..., **kwargs: Any) -> hai_agents.Client: ...


@overload
def hai_client(*, asynchronous: Literal[True], socket: Optional[str] = ..., holder: Optional[str] = ..., priority: Optional[int] = ..., wait: Optional[float] = ..., timeout: Optional[float] = ..., **kwargs: Any) -> hai_agents.AsyncClient: ...


def hai_client(
    *,
    asynchronous: bool = False,
    socket: Optional[str] = None,
    holder: Optional[str] = None,
    priority: Optional[int] = None,
    wait: Optional[float] = None,
    timeout: Optional[float] = None,
    **kwargs: Any,
) -> Union[hai_agents.Client, hai_agents.AsyncClient]:
    """An ``hai_agents.Client`` (``hai_agents.AsyncClient`` with ``asynchronous=True``) whose requests go to
    slotgated's proxy on ``socket`` (default as for ``Gate``): a session create waits in the daemon's queue instead
    of failing with 429, and the daemon sends its own API key.

    ``holder``, ``priority`` and ``wait`` become the ``Slotgate-Holder``, ``Slotgate-Priority`` and ``Slotgate-Wait``
    headers of every request. ``timeout`` (seconds) is the HTTP timeout, by default longer than the wait: ``wait`` +
    30, or 330. Other keyword arguments go to the SDK's client (``headers``, ``max_retries``, ...); ``api_key``
    defaults to a placeholder, since the daemon replaces it. Needs ``hai-agents`` installed (it brings httpx)."""
    try:
        import hai_agents
        import httpx
    except ImportError as error:  # pragma: no cover
        raise ImportError("slotgate.hai_client needs the hai-agents package: pip install hai-agents") from error

    headers: Dict[str, str] = dict(kwargs.pop("headers", None) or {})
    if holder is not None:
        headers["Slotgate-Holder"] = holder
    if priority is not None:
        headers["Slotgate-Priority"] = str(priority)
    if wait is not None:
        headers["Slotgate-Wait"] = str(wait)
    if timeout is None:
        timeout = wait + 30.0 if wait is not None else _DEFAULT_TIMEOUT_S
    path = socket_path(socket)
    kwargs.setdefault("api_key", "via-slotgate")
    kwargs.setdefault("base_url", "http://slotgate")  # the host is not used over a Unix socket
    if asynchronous:
        async_http = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=path), timeout=timeout)
        async_client: hai_agents.AsyncClient = hai_agents.AsyncClient(httpx_client=async_http, headers=headers, timeout=timeout, **kwargs)
        return async_client
    http = httpx.Client(transport=httpx.HTTPTransport(uds=path), timeout=timeout)
    client: hai_agents.Client = hai_agents.Client(httpx_client=http, headers=headers, timeout=timeout, **kwargs)
    return client
