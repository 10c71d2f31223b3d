"""A real local S3 API for tests: moto's server as a child process on a free loopback port.

moto keeps objects and lifecycle rules but never checks signatures or expiry, nor expires anything.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.servers import free_port, wait_port

TEST_ACCESS_KEY_ID = "test-access-key"
TEST_SECRET_ACCESS_KEY = "test-secret-never-shown"  # made up: moto accepts any credentials


@contextmanager
def s3_server(workdir: Path) -> Iterator[str]:
    """``python -m moto.server`` until the block ends; yields its endpoint URL, logs into ``workdir``."""
    port = free_port()
    log = workdir / f"moto-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_port(port, timeout=30)
        except TimeoutError:
            proc.kill()
            proc.wait()
            output = log.read_text(errors="replace")
            raise RuntimeError(
                f"moto server did not start on port {port} (is moto[server] installed?):\n{output}"
            ) from None
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
