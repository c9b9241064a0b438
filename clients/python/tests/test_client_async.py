"""slotgate.AsyncGate against the real daemon: concurrent tasks within the limit, renewal, positions, errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable, Dict, List

import pytest

import slotgate
import stack


def lease_on_daemon(daemon: stack.Daemon, lease_id: str) -> Dict[str, Any]:
    status, body = stack.unix_request(daemon.socket_path, "GET", f"/v1/leases/{lease_id}")
    assert status == 200, body
    return json.loads(body)


def test_concurrent_tasks_never_hold_more_than_the_limit(daemon: stack.Daemon) -> None:
    held: List[int] = [0]
    most: List[int] = [0]
    finished: List[str] = []

    async def job(gate: slotgate.AsyncGate, number: int) -> None:
        async with gate.slot(holder=f"job-{number}", wait=60) as lease:
            assert lease.state == "granted"
            held[0] += 1
            most[0] = max(most[0], held[0])
            assert (await gate.status())["slots"]["held_by_leases"] <= 3
            await asyncio.sleep(0.3)
            held[0] -= 1
            finished.append(lease.id)

    async def main() -> None:
        gate = slotgate.AsyncGate(socket=daemon.socket_path)
        await asyncio.gather(*(job(gate, number) for number in range(9)))
        assert (await gate.status())["slots"]["held_by_leases"] == 0

    asyncio.run(main())
    assert len(set(finished)) == 9
    assert most[0] == 3
    for lease_id in finished:
        assert lease_on_daemon(daemon, lease_id)["state"] == "released"


def test_async_renewal_and_release_on_exception(start_daemon: Callable[..., stack.Daemon]) -> None:
    daemon = start_daemon({"SLOTGATE_LEASES_CLAIM_TTL_S": "2"})
    taken: List[str] = []

    async def main() -> None:
        gate = slotgate.AsyncGate(socket=daemon.socket_path)
        async with gate.slot(holder="async-renewed", wait=30) as lease:
            await asyncio.sleep(5)
            await lease.refresh()
            assert lease.state == "granted"
            assert lease.lost is None
        assert lease.state == "released"
        with pytest.raises(ValueError):
            async with gate.slot(holder="async-failing", wait=30) as failing:
                taken.append(failing.id)
                raise ValueError("job failed")

    asyncio.run(main())
    assert lease_on_daemon(daemon, taken[0])["state"] == "released"


def test_async_events_errors_and_bind(daemon: stack.Daemon) -> None:
    async def main() -> None:
        gate = slotgate.AsyncGate(socket=daemon.socket_path)
        fillers = [gate.slot(holder="filler", wait=30) for _ in range(3)]
        for filler in fillers:
            await filler.take()

        with pytest.raises(slotgate.SlotgateError) as full:
            async with gate.slot(wait=0):
                pytest.fail("a fourth slot was granted with a limit of 3")
        assert (full.value.code, full.value.status) == ("wait_timeout", 503)

        # A streamed wait that runs out ends in an error event, raised with its code.
        with pytest.raises(slotgate.SlotgateError) as timeout:
            async for _ in gate.slot(holder="too-late", wait=0.5).events():
                pass
        assert timeout.value.code == "wait_timeout"

        waiter = gate.slot(holder="streamed", wait=60)
        positions: List[slotgate.Position] = []
        async for position in waiter.events():
            positions.append(position)
            if len(positions) == 1:
                await fillers[0].close()
        assert [(p.position, p.waiting) for p in positions] == [(1, 1)]
        async with waiter as lease:
            assert (lease.state, lease.holder) == ("granted", "streamed")
            await lease.bind("sess_async_bound")
            assert (lease.state, lease.session_id) == ("bound", "sess_async_bound")
            with pytest.raises(slotgate.SlotgateError) as conflict:
                await lease.bind("sess_async_other")
            assert conflict.value.code == "lease_conflict"

        for filler in fillers[1:]:
            await filler.close()

    asyncio.run(main())
