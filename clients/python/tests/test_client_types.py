"""The package's parsing of what the daemon sends, without a daemon: events from newer or older daemons, errors."""

from __future__ import annotations

import slotgate


def test_a_position_carries_eta_when_sent_and_keeps_unknown_fields() -> None:
    position = slotgate.Position.from_event({"event": "queued", "position": 2, "waiting": 5, "eta_s": 12.5, "later": [1]})
    assert (position.position, position.waiting, position.eta_s) == (2, 5, 12.5)
    assert position.raw["later"] == [1]
    assert slotgate.Position.from_event({"event": "queued", "position": 1, "waiting": 1}).eta_s is None
    assert slotgate.Position.from_event({"event": "queued", "position": 1, "waiting": 1, "eta_s": None}).eta_s is None


def test_errors_from_answers_and_events() -> None:
    error = slotgate.SlotgateError.from_answer(503, b'{"error":{"code":"queue_full","message":"Too many."}}', {"retry-after": "2"})
    assert (error.code, error.message, error.status, error.retry_after) == ("queue_full", "Too many.", 503, 2.0)
    assert str(error) == "queue_full: Too many."
    odd = slotgate.SlotgateError.from_answer(502, b"<html>bad gateway</html>", {})
    assert (odd.code, odd.status, odd.retry_after) == ("unexpected_answer", 502, None)
    event = slotgate.SlotgateError.from_event({"event": "error", "error": {"code": "shutting_down", "message": "Bye."}})
    assert (event.code, event.status) == ("shutting_down", 0)
