"""slotgate.hai_client: the official SDK (hai-agents) wired to the daemon's proxy, sync and async."""

from __future__ import annotations

import asyncio
import json

import hai_agents

import slotgate
import stack


def leases(daemon: stack.Daemon) -> list:
    status, body = stack.unix_request(daemon.socket_path, "GET", "/v1/leases")
    assert status == 200, body
    return json.loads(body)["leases"]


def test_hai_client_creates_a_session_through_the_proxy(daemon: stack.Daemon, simulator: stack.Simulator) -> None:
    with slotgate.hai_client(socket=daemon.socket_path, holder="py-sdk") as client:
        assert isinstance(client, hai_agents.Client)
        session = client.sessions.create_session(agent="h/x", messages="hello")
        assert client.sessions.get_session(session.id).id == session.id
    bound = [lease for lease in leases(daemon) if lease["session_id"] == session.id]
    assert [lease["holder"] for lease in bound] == ["py-sdk"]
    assert simulator.stats()["creates_refused"] == 0


def test_async_hai_client_creates_sessions_through_the_proxy(daemon: stack.Daemon, simulator: stack.Simulator) -> None:
    async def main() -> list:
        async with slotgate.hai_client(socket=daemon.socket_path, holder="py-sdk-async", asynchronous=True) as client:
            assert isinstance(client, hai_agents.AsyncClient)
            sessions = await asyncio.gather(*(client.sessions.create_session(agent="h/x", messages=f"hello {n}") for n in range(5)))
            return [session.id for session in sessions]

    ids = asyncio.run(main())
    assert len(set(ids)) == 5
    holders = {lease["session_id"]: lease["holder"] for lease in leases(daemon)}
    assert all(holders.get(session_id) == "py-sdk-async" for session_id in ids)
    assert simulator.stats()["creates_refused"] == 0


def test_a_slot_taken_first_is_used_by_the_sdk_create(daemon: stack.Daemon, simulator: stack.Simulator) -> None:
    gate = slotgate.Gate(socket=daemon.socket_path)
    with gate.hai_client() as client, gate.slot(holder="py-slot-first", wait=30) as lease:
        session = client.sessions.create_session(agent="h/x", messages="hello", request_options={"additional_headers": lease.headers})
        lease.refresh()
        assert (lease.state, lease.session_id) == ("bound", session.id)
    assert [item["id"] for item in leases(daemon) if item["session_id"] == session.id] == [lease.id]
    assert simulator.stats()["creates_refused"] == 0
