"""Fixtures shared by the Python suites: a simulator and a daemon per test (module `stack`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stack  # noqa: E402


@pytest.fixture
def simulator():
    sim = stack.start_simulator()
    yield sim
    stack.stop(sim)


@pytest.fixture
def daemon(simulator):
    process = stack.start_daemon(simulator)
    yield process
    log = process.log()
    stack.stop(process)
    assert stack.API_KEY not in log, "the API key appeared in slotgated's log"
