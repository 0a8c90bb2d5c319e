"""Starts a real mock upstream and a real llmscope server (the release binary named by
$LLMSCOPE_BIN) for the OpenAI SDK interop tests, and reads back what llmscope stored."""

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

BIN = os.environ.get("LLMSCOPE_BIN", "llmscope")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


class Llmscope:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="llmscope-interop-")
        mock_port, port = free_port(), free_port()
        self.mock = subprocess.Popen(
            [BIN, "mock-llm", "--listen", f"127.0.0.1:{mock_port}", "--ttft-ms", "20", "--tokens-per-s", "400"],
            stderr=subprocess.PIPE,
        )
        env = dict(os.environ, LLMSCOPE_UPSTREAM_URL=f"http://127.0.0.1:{mock_port}/v1", LLMSCOPE_LOG="warn")
        env.pop("LLMSCOPE_CONFIG", None)
        self.server = subprocess.Popen(
            [BIN, "--data-dir", self.dir, "serve", "--listen", f"127.0.0.1:{port}"],
            env=env,
            stderr=subprocess.PIPE,
        )
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.mock_url = f"http://127.0.0.1:{mock_port}"
        wait_http(f"http://127.0.0.1:{mock_port}/v1/models")
        wait_http(f"http://127.0.0.1:{port}/readyz")
        self.port = port

    def calls(self):
        """Every stored call, read through the running server's API (`llmscope calls`)."""
        out = subprocess.run(
            [BIN, "--data-dir", self.dir, "calls", "--format", "jsonl", "--limit", "1000", "--order", "oldest"],
            check=True,
            capture_output=True,
            text=True,
        )
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    def call(self, call_id, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for c in self.calls():
                if c["id"] == call_id:
                    return c
            time.sleep(0.1)
        raise AssertionError(f"call {call_id} was not stored")

    def stop(self):
        self.server.send_signal(signal.SIGTERM)
        code = self.server.wait(timeout=30)
        self.mock.send_signal(signal.SIGTERM)
        self.mock.wait(timeout=30)
        return code


@pytest.fixture(scope="session")
def llmscope():
    s = Llmscope()
    yield s
    if s.server.poll() is None:
        s.stop()
