"""The official SDK (hai-agents), unchanged, through the daemon's proxy on its Unix socket, against agp-sim.

Each test gets its own simulator and daemon (fixtures in conftest.py). The SDK is wired exactly as the README
shows: `base_url="http://slotgate"`, any `api_key` (the daemon sends its own), and an httpx client whose
transport is the socket.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import List

import hai_agents
import httpx
import pytest
from hai_agents.polling import wait_for_session
from hai_agents.sessions.types.send_session_messages_request_body import SendSessionMessagesRequestBody_UserMessage

import stack

TERMINAL = {"completed", "failed", "interrupted", "timed_out"}


def sdk(daemon: stack.Daemon, timeout: float = 60) -> hai_agents.Client:
    transport = httpx.HTTPTransport(uds=daemon.socket_path)
    return hai_agents.Client(api_key="unused", base_url="http://slotgate", httpx_client=httpx.Client(transport=transport, timeout=timeout))


def async_sdk(daemon: stack.Daemon, timeout: float = 60) -> hai_agents.AsyncClient:
    transport = httpx.AsyncHTTPTransport(uds=daemon.socket_path)
    return hai_agents.AsyncClient(
        api_key="unused", base_url="http://slotgate", httpx_client=httpx.AsyncClient(transport=transport, timeout=timeout)
    )


@pytest.fixture
def long_simulator():
    """Sessions that run until cancelled or finished by the test."""
    sim = stack.start_simulator(run_ms="none")
    yield sim
    stack.stop(sim)


def test_every_session_route(daemon: stack.Daemon, simulator: stack.Simulator) -> None:
    with sdk(daemon) as client:
        session = client.sessions.create_session(agent="h/x", messages="hello")
        assert session.id and session.status.status in ("pending", "running")
        assert client.sessions.get_session(session.id).id == session.id
        assert client.sessions.get_session_status(session.id).status in ("pending", "running", "completed", "idle")
        assert session.id in [item.id for item in client.sessions.list_sessions(size=100).items]

        changes = client.sessions.get_session_changes(session.id, from_index=0, wait_for_seconds=0)
        assert changes is not None and changes.new_events, "the first message is an event"
        events = client.sessions.list_session_events(session.id)
        assert events.total >= 1 and events.items

        client.sessions.send_session_messages(session.id, request=SendSessionMessagesRequestBody_UserMessage(message="more"))
        client.sessions.cancel_session(session.id)
        assert client.sessions.get_session_status(session.id).status == "interrupted"

        quota = client.sessions.get_session_quota()
        assert quota.limit == 3
        tokens = client.quota.get_token_quota()
        assert tokens is not None
    assert simulator.stats()["creates_refused"] == 0


def test_run_session_and_wait_for_session_with_the_default_long_poll(daemon: stack.Daemon, simulator: stack.Simulator) -> None:
    with sdk(daemon) as client:
        result = client.run_session(agent="h/x", messages="run")
        assert result.status == "completed" and result.answer is not None and result.events

        handle = client.start_session(agent="h/x", messages="started")
        waited = wait_for_session(client, handle.id)  # wait_for_seconds=20, the SDK's default
        assert waited.status == "completed" and waited.answer is not None
    assert simulator.stats()["creates_refused"] == 0


def test_a_long_poll_longer_than_the_daemons_own_timeout_passes_whole(long_simulator: stack.Simulator) -> None:
    """upstream.timeout_s is 1 s here; the SDK's /changes asks the platform to wait 3 s: the daemon must not cut it,
    and the simulator must really wait (204 after the wait), and answer at once when an event comes."""
    daemon = stack.start_daemon(long_simulator, environment={"SLOTGATE_UPSTREAM_TIMEOUT_S": "1"})
    try:
        with sdk(daemon) as client:
            session = client.sessions.create_session(agent="h/x", messages="hello")
            seen = len(client.sessions.get_session_changes(session.id, from_index=0, wait_for_seconds=0).new_events)
            started = time.monotonic()
            nothing = client.sessions.get_session_changes(session.id, from_index=seen, wait_for_seconds=3)
            elapsed = time.monotonic() - started
            assert nothing is None, "204: nothing new"
            assert elapsed >= 2.9, f"the simulator answered after {elapsed:.2f} s, not after the asked wait"

            finisher = threading.Timer(1.0, lambda: long_simulator.control("POST", f"/_sim/sessions/{session.id}/finish", {"status": "completed"}))
            finisher.start()
            started = time.monotonic()
            news = client.sessions.get_session_changes(session.id, from_index=seen, wait_for_seconds=20)
            elapsed = time.monotonic() - started
            finisher.join()
            assert news is not None and news.new_events, "the event that came during the wait"
            assert elapsed < 10, f"the long-poll answered {elapsed:.2f} s after the event"
    finally:
        log = daemon.log()
        stack.stop(daemon)
        assert stack.API_KEY not in log


def test_the_async_client(daemon: stack.Daemon, simulator: stack.Simulator) -> None:
    async def main() -> None:
        client = async_sdk(daemon)
        try:
            session = await client.sessions.create_session(agent="h/x", messages="async")
            status = await client.sessions.get_session_status(session.id)
            assert status.status in ("pending", "running", "completed", "idle")
            results = await asyncio.gather(*(client.run_session(agent="h/x", messages=f"a{index}") for index in range(5)))
            assert all(result.status == "completed" for result in results)
            listed = await client.sessions.list_sessions(size=100)
            assert {result.id for result in results} <= {item.id for item in listed.items}
        finally:
            await client.aclose()

    asyncio.run(main())
    assert simulator.stats()["creates_refused"] == 0


def test_24_sdk_clients_in_threads_against_limit_3(daemon: stack.Daemon, simulator: stack.Simulator) -> None:
    """Every session is created and completes, the simulator refuses none, and no SDK call raises."""
    errors: List[BaseException] = []
    statuses: List[str] = []
    lock = threading.Lock()

    def job(index: int) -> None:
        try:
            with sdk(daemon, timeout=300) as client:
                result = client.run_session(agent="h/x", messages=f"job {index}")
            with lock:
                statuses.append(result.status)
        except BaseException as error:  # noqa: BLE001 - every failure is the test's business
            with lock:
                errors.append(error)

    started = time.monotonic()
    threads = [threading.Thread(target=job, args=(index,)) for index in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    elapsed = time.monotonic() - started
    stats = simulator.stats()
    print(f"24 SDK clients, limit 3: {elapsed:.1f} s, created {stats['creates_accepted']}, refused {stats['creates_refused']}, "
          f"peak non-terminal {stats['peak_non_terminal']}")
    assert not errors, f"{len(errors)} SDK calls raised, first: {errors[0]!r}"
    assert statuses == ["completed"] * 24
    assert stats["creates_accepted"] == 24 and stats["creates_refused"] == 0
    assert stats["peak_non_terminal"] <= 3
