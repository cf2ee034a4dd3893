"""Shared test helpers."""
import math
import os
import shutil
import socket
import subprocess
import time

import numpy as np
import pytest


def gaussian_moment(n: int) -> float:
    """E[ε^n] for ε ~ N(0, 1): 0 for odd n, (n − 1)!! for even n."""
    if n % 2:
        return 0.0
    return float(np.prod(np.arange(n - 1, 0, -2))) if n else 1.0


def poly_expectation(coeffs: dict[int, float]) -> float:
    """E[Σ c_n ε^n] for a polynomial in ε given as {power: coefficient}."""
    return sum(c * gaussian_moment(n) for n, c in coeffs.items())


def poly_mul(a: dict[int, float], b: dict[int, float]) -> dict[int, float]:
    out: dict[int, float] = {}
    for i, x in a.items():
        for j, y in b.items():
            out[i + j] = out.get(i + j, 0.0) + x * y
    return out


def z_score(values: np.ndarray, target: float) -> tuple[float, float]:
    """(mean − target) / SE and the SE, for independent replicates."""
    se = values.std(ddof=1) / math.sqrt(values.size)
    return (values.mean() - target) / se, se


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real, throwaway redis-server on a free loopback port (no persistence); its URL.

    Without redis-server the Redis tests skip, except under CI or REQUIRE_BROWSER=1, where they fail.
    """
    exe = shutil.which("redis-server")
    if exe is None:
        reason = "redis-server not found: install Debian's redis-server (`apt-get install redis-server`) to run the Redis store tests"
        if os.environ.get("REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
            pytest.fail(f"{reason} (CI or REQUIRE_BROWSER=1 is set, so these tests must run)")
        pytest.skip(reason)
    import redis

    folder = tmp_path_factory.mktemp("redis")
    log = folder / "redis.log"
    for _attempt in range(3):   # another process may take the free port before the server binds it
        port = _free_port()
        proc = subprocess.Popen(
            [exe, "--save", "", "--appendonly", "no", "--port", str(port), "--bind", "127.0.0.1",
             "--dir", str(folder), "--logfile", str(log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        up = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                up = bool(client.ping())
                break
            except redis.RedisError:
                time.sleep(0.05)
        client.close()
        if up:
            break
        _stop(proc)
    else:
        text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        pytest.fail(f"redis-server did not answer PING within 10 s:\n{text}")
    try:
        yield url
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
