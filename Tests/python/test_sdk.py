"""The official SDK (hai-agents), unchanged, through the daemon's proxy on its Unix socket, against agp-sim."""

from __future__ import annotations

import httpx
import hai_agents
import pytest

import stack


def sdk(daemon: stack.Daemon, timeout: float = 60) -> hai_agents.Client:
    """The SDK wired to the socket as the README says: any api_key (the daemon sends its own)."""
    transport = httpx.HTTPTransport(uds=daemon.socket_path)
    return hai_agents.Client(api_key="unused", base_url="http://slotgate", httpx_client=httpx.Client(transport=transport, timeout=timeout))


def test_create_get_list(daemon: stack.Daemon, simulator: stack.Simulator) -> None:
    with sdk(daemon) as client:
        session = client.sessions.create_session(agent="h/x", messages="hello")
        assert session.id
        assert client.sessions.get_session(session.id).id == session.id
        listed = client.sessions.list_sessions()
        assert session.id in [item.id for item in listed.items]
    assert simulator.stats()["creates_refused"] == 0
