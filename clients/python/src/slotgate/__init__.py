"""slotgate: take a slot from slotgated (the local gate in front of the agent platform's session limit), hold it
while a session runs, and give it back, over the daemon's Unix socket. Standard library only;
``hai_client()`` wires the official SDK to the daemon's proxy when ``hai-agents`` is installed.

    gate = slotgate.Gate()                     # $SLOTGATE_SOCKET, else /run/slotgate/slotgate.sock
    with gate.slot(holder="nightly-crawl", wait=120) as lease:
        ...                                    # the slot is held (and renewed) here
        lease.bind(session_id)
"""

from ._async import AsyncGate, AsyncLease, AsyncSlot
from ._errors import Position, SlotgateError
from ._hai import hai_client
from ._lease import DEFAULT_SOCKET
from ._sync import Gate, Lease, Slot

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SOCKET",
    "AsyncGate",
    "AsyncLease",
    "AsyncSlot",
    "Gate",
    "Lease",
    "Position",
    "Slot",
    "SlotgateError",
    "hai_client",
]
