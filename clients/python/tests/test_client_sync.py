"""slotgate.Gate against the real daemon: slots taken, renewed, bound and released; errors; streamed positions."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Dict, List

import pytest

import slotgate
import stack


def lease_on_daemon(daemon: stack.Daemon, lease_id: str) -> Dict[str, Any]:
    """The lease as the daemon reports it, read without the package."""
    status, body = stack.unix_request(daemon.socket_path, "GET", f"/v1/leases/{lease_id}")
    assert status == 200, body
    return json.loads(body)


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def fill(gate: slotgate.Gate, count: int = 3) -> List[slotgate.Slot]:
    """Takes `count` slots (the simulator's limit is 3) and returns them, entered, to be closed by the test."""
    slots = [gate.slot(holder="filler", wait=30) for _ in range(count)]
    for slot in slots:
        slot.take()
    return slots


def test_slot_takes_and_releases(daemon: stack.Daemon) -> None:
    gate = slotgate.Gate(socket=daemon.socket_path)
    with gate.slot(holder="py-test", priority=2, wait=30) as lease:
        assert lease.id.startswith("lse_")
        assert (lease.state, lease.holder, lease.priority, lease.session_id) == ("granted", "py-test", 2, None)
        assert lease.expires_at is not None
        assert lease_on_daemon(daemon, lease.id)["state"] == "granted"
        assert gate.status()["slots"]["held_by_leases"] == 1
    assert lease.state == "released"
    assert lease_on_daemon(daemon, lease.id)["state"] == "released"
    assert gate.status()["slots"]["held_by_leases"] == 0


def test_errors_carry_the_api_code(daemon: stack.Daemon) -> None:
    gate = slotgate.Gate(socket=daemon.socket_path)
    held = fill(gate)
    with pytest.raises(slotgate.SlotgateError) as full:
        with gate.slot(holder="late", wait=0):
            pytest.fail("a fourth slot was granted with a limit of 3")
    assert (full.value.code, full.value.status) == ("wait_timeout", 503)
    assert full.value.retry_after is not None
    for slot in held:
        slot.close()

    with pytest.raises(slotgate.SlotgateError) as bad:
        with gate.slot(priority=11):
            pass
    assert (bad.value.code, bad.value.status) == ("bad_request", 400)
    assert "priority" in bad.value.message

    with pytest.raises(slotgate.SlotgateError) as missing:
        gate.lease("lse_does_not_exist")
    assert (missing.value.code, missing.value.status) == ("lease_not_found", 404)

    with gate.slot(holder="binder", wait=30) as lease:
        lease.bind("sess_python_one")
        with pytest.raises(slotgate.SlotgateError) as conflict:
            lease.bind("sess_python_two")
        assert (conflict.value.code, conflict.value.status) == ("lease_conflict", 409)


def test_renewal_keeps_an_unbound_lease_beyond_its_claim_ttl(start_daemon: Callable[..., stack.Daemon]) -> None:
    daemon = start_daemon({"SLOTGATE_LEASES_CLAIM_TTL_S": "2"})
    gate = slotgate.Gate(socket=daemon.socket_path)
    # A lease nobody renews, beside: it expires within the same hold, which shows the TTL is in force.
    status, body = stack.unix_request(daemon.socket_path, "POST", "/v1/leases", json.dumps({"holder": "bare", "wait_s": 30}).encode())
    assert status == 201, body
    bare = json.loads(body)["id"]
    with gate.slot(holder="renewed", wait=30) as lease:
        time.sleep(5)
        lease.refresh()
        assert lease.state == "granted"
        assert lease.lost is None
        assert lease_on_daemon(daemon, bare)["state"] == "expired"
    assert lease_on_daemon(daemon, lease.id)["state"] == "released"


def test_bind_attaches_the_session(daemon: stack.Daemon) -> None:
    gate = slotgate.Gate(socket=daemon.socket_path)
    with gate.slot(holder="binder", wait=30) as lease:
        lease.bind("sess_python_bound")
        assert (lease.state, lease.session_id, lease.expires_at) == ("bound", "sess_python_bound", None)
        on_daemon = lease_on_daemon(daemon, lease.id)
        assert (on_daemon["state"], on_daemon["session_id"]) == ("bound", "sess_python_bound")
        lease.bind("sess_python_bound")  # the same id again: a no-op
    assert lease_on_daemon(daemon, lease.id)["state"] in ("released", "draining")


def test_an_exception_in_the_block_releases_the_slot(daemon: stack.Daemon) -> None:
    gate = slotgate.Gate(socket=daemon.socket_path)
    taken: List[str] = []
    with pytest.raises(RuntimeError, match="job failed"):
        with gate.slot(holder="failing", wait=30) as lease:
            taken.append(lease.id)
            raise RuntimeError("job failed")
    assert lease_on_daemon(daemon, taken[0])["state"] == "released"
    assert gate.status()["slots"]["held_by_leases"] == 0


def test_events_show_the_position_falling_until_the_grant(daemon: stack.Daemon) -> None:
    gate = slotgate.Gate(socket=daemon.socket_path)
    held = fill(gate)
    first = gate.slot(holder="first", wait=60)
    first_granted = threading.Event()

    def wait_first() -> None:
        first.take()
        first_granted.set()

    thread = threading.Thread(target=wait_first)
    thread.start()
    wait_until(lambda: gate.status()["queue"]["waiting"] == 1)

    second = gate.slot(holder="second", wait=60)
    events = second.events()
    positions: List[slotgate.Position] = [next(events)]
    held[0].close()
    assert first_granted.wait(10)
    positions.append(next(events))
    held[1].close()
    positions.extend(events)  # ends at the grant
    assert [(p.position, p.waiting) for p in positions] == [(2, 2), (1, 1)]
    for position in positions:
        assert position.raw["event"] == "queued"
        assert position.eta_s is None or position.eta_s >= 0
    with second as lease:
        assert lease.state == "granted"
        assert lease.holder == "second"
    thread.join()
    first.close()
    held[2].close()
    assert gate.status()["slots"]["held_by_leases"] == 0


def test_closing_a_slot_while_streaming_withdraws_the_wait(daemon: stack.Daemon) -> None:
    gate = slotgate.Gate(socket=daemon.socket_path)
    held = fill(gate)
    waiting = gate.slot(holder="impatient", wait=60)
    assert next(waiting.events()).position == 1
    waiting.close()
    wait_until(lambda: gate.status()["queue"]["waiting"] == 0)
    for slot in held:
        slot.close()


def test_status(daemon: stack.Daemon) -> None:
    gate = slotgate.Gate(socket=daemon.socket_path)
    status = gate.status()
    assert status["ready"] is True
    assert status["mode"] == "local"
    wait_until(lambda: gate.status()["slots"]["limit"] == 3)


def test_the_socket_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOTGATE_SOCKET", "/tmp/elsewhere.sock")
    assert slotgate.Gate().socket == "/tmp/elsewhere.sock"
    monkeypatch.delenv("SLOTGATE_SOCKET")
    assert slotgate.Gate().socket == slotgate.DEFAULT_SOCKET == "/run/slotgate/slotgate.sock"


def test_entering_a_slot_mid_stream_waits_out_the_stream(daemon: stack.Daemon) -> None:
    gate = slotgate.Gate(socket=daemon.socket_path)
    held = fill(gate)
    slot = gate.slot(holder="mid-stream", wait=30)
    assert next(slot.events()).position == 1
    timer = threading.Timer(0.3, held[0].close)
    timer.start()
    with slot as lease:
        assert (lease.state, lease.holder) == ("granted", "mid-stream")
    timer.join()
    assert lease_on_daemon(daemon, lease.id)["state"] == "released"
    for filler in held[1:]:
        filler.close()
