"""The real daemon and the platform simulator, for Python tests: `agp-sim` on 127.0.0.1 and `slotgated` on a Unix
socket in a directory of the test's own, both the debug builds (`SLOTGATED`, `AGP_SIM` name others)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "hk-python-SECRET-7d3a91c0e5b2f846"


def _binary(variable: str, name: str) -> str:
    path = os.environ.get(variable) or str(ROOT / ".build" / "debug" / name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} is not built: run `swift build` (or set {variable})")
    return path


@dataclass
class Simulator:
    process: subprocess.Popen
    root: str  # http://127.0.0.1:PORT

    @property
    def base_url(self) -> str:
        return self.root + "/api/v2"

    def control(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.root + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else {}

    def stats(self) -> Dict[str, Any]:
        return self.control("GET", "/_sim/stats")


@dataclass
class Daemon:
    process: subprocess.Popen
    socket_path: str
    directory: str
    log_path: str
    extra: Dict[str, Any] = field(default_factory=dict)

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")


def start_simulator(limit: int = 3, run_ms: str = "300-600", pending_ms: int = 50, extra: Optional[List[str]] = None) -> Simulator:
    arguments = [
        _binary("AGP_SIM", "agp-sim"), "--host", "127.0.0.1", "--port", "0", "--limit", str(limit),
        "--run-ms", run_ms, "--pending-ms", str(pending_ms), "--api-key", API_KEY,
    ] + (extra or [])
    process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 10
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("agp-sim listening on "):
            url = line[len("agp-sim listening on "):].strip()
            return Simulator(process, url[: -len("/api/v2")])
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError("agp-sim did not print its address within 10 s")


def start_daemon(simulator: Simulator, config: str = "", environment: Optional[Dict[str, str]] = None) -> Daemon:
    directory = tempfile.mkdtemp(prefix="slotgate-py-")
    socket_path = os.path.join(directory, "d.sock")
    config_path = os.path.join(directory, "slotgate.yaml")
    state = os.path.join(directory, "state")
    os.makedirs(state)
    Path(config_path).write_text(config or "# python tests\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "SLOTGATE_API_KEY": API_KEY,
        "SLOTGATE_UPSTREAM_URL": simulator.base_url,
        "SLOTGATE_UPSTREAM_POLL_INTERVAL_S": "0.2",
        "SLOTGATE_UPSTREAM_IDLE_POLL_INTERVAL_S": "0.5",
        "SLOTGATE_LOG_LEVEL": "debug",
    }
    env.update(environment or {})
    log_path = os.path.join(directory, "slotgated.log")
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [_binary("SLOTGATED", "slotgated"), "--config", config_path, "--socket", socket_path, "--state-dir", state],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    daemon = Daemon(process, socket_path, directory, log_path)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status = unix_request(socket_path, "GET", "/v1/status")
            if status[0] == 200 and json.loads(status[1]).get("ready"):
                return daemon
        except OSError:
            pass
        time.sleep(0.025)
    stop(daemon)
    raise RuntimeError(f"slotgated was not ready within 10 s:\n{daemon.log()[-4000:]}")


def unix_request(path: str, method: str, target: str, body: Optional[bytes] = None, timeout: float = 10) -> "tuple[int, bytes]":
    """One HTTP/1.1 request over a Unix socket with the standard library; (status, body)."""
    import http.client

    class Connection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)

    connection = Connection("slotgate", timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def stop(process_holder: Any) -> None:
    process = process_holder.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    directory = getattr(process_holder, "directory", None)
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
