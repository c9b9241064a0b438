"""The client package against the real daemon and simulator: the fixtures of Tests/python (module `stack`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "Tests" / "python"))

import stack  # noqa: E402


@pytest.fixture
def simulator() -> Iterator[stack.Simulator]:
    sim = stack.start_simulator()
    yield sim
    stack.stop(sim)


@pytest.fixture
def start_daemon(simulator: stack.Simulator) -> Iterator[Callable[..., stack.Daemon]]:
    """Starts slotgated on the simulator with the environment given (stopped after the test)."""
    started: List[stack.Daemon] = []

    def start(environment: Optional[Dict[str, str]] = None) -> stack.Daemon:
        daemon = stack.start_daemon(simulator, environment=environment)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        log = daemon.log()
        stack.stop(daemon)
        assert stack.API_KEY not in log, "the API key appeared in slotgated's log"


@pytest.fixture
def daemon(start_daemon: Callable[..., stack.Daemon]) -> stack.Daemon:
    return start_daemon()
