"""Fault injection is seeded and reproducible, and each kind of fault looks like the real thing."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import httpx
import pytest

from kitsu_ingest.emulator import EmulatorConfig, FaultConfig, create_app, parse_latency
from kitsu_ingest.errors import ConfigError

PATHS = [f"/users?page[limit]=5&page[offset]={5 * i}" for i in range(60)]


def _app(**faults) -> object:
    return create_app(EmulatorConfig(users=300, seed=7, faults=FaultConfig(**faults)))


def _statuses(make_api, app) -> list[int]:
    return [r.status_code for r in make_api(app).get_many(PATHS, raise_app_exceptions=False)]


def test_faults_are_reproducible_and_roughly_as_frequent_as_asked(make_api) -> None:
    first = _statuses(make_api, _app(p_5xx=0.2, p_403=0.1, seed=11))
    again = _statuses(make_api, _app(p_5xx=0.2, p_403=0.1, seed=11))
    other = _statuses(make_api, _app(p_5xx=0.2, p_403=0.1, seed=12))
    assert first == again and first != other
    assert set(first) <= {200, 403, 500, 502, 503, 504}
    assert 5 <= sum(s >= 500 for s in first) <= 25 and 1 <= first.count(403) <= 15


def test_retries_of_a_url_meet_a_fixed_sequence_then_succeed(make_api) -> None:
    app = _app(p_5xx=0.6, seed=3)
    api = make_api(app)
    path = PATHS[0]
    run1 = [r.status_code for r in api.get_many([path] * 12)]
    run2 = [r.status_code for r in make_api(_app(p_5xx=0.6, seed=3)).get_many([path] * 12)]
    assert run1 == run2 and 200 in run1


def test_rate_limit_answers_429_with_or_without_retry_after(make_api) -> None:
    responses = make_api(_app(rate_limit=2.0)).get_many(PATHS[:6])
    assert [r.status_code for r in responses][:2] == [200, 200]
    limited = [r for r in responses if r.status_code == 429]
    assert limited and limited[0].headers["retry-after"] == "1"
    quiet = make_api(_app(rate_limit=2.0, retry_after=False)).get_many(PATHS[:6])
    assert all("retry-after" not in r.headers for r in quiet if r.status_code == 429)
    assert any(r.status_code == 429 for r in quiet)


def test_malformed_bodies_do_not_parse(make_api) -> None:
    responses = make_api(_app(p_malformed=1.0)).get_many(PATHS[:10])
    for response in responses:
        assert response.status_code == 200
        with pytest.raises(ValueError):
            response.json()


def test_dropped_connection_is_a_protocol_error(make_api) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        make_api(_app(p_drop=1.0)).get(PATHS[0])


def test_hang_outlasts_a_client_timeout() -> None:
    app = _app(p_hang=1.0, hang_seconds=5.0)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kitsu.test") as client:
            await asyncio.wait_for(client.get("/api/edge/users"), timeout=0.2)

    with pytest.raises(TimeoutError):
        asyncio.run(run())


def test_latency_range(make_api) -> None:
    api = make_api(_app(latency_ms=(40, 60)))
    start = time.perf_counter()
    api.get_many(PATHS[:5])
    assert time.perf_counter() - start >= 0.2


def test_bad_fault_settings() -> None:
    assert parse_latency("300-2100") == (300.0, 2100.0) and parse_latency("250") == (250.0, 250.0)
    with pytest.raises(ConfigError):
        parse_latency("2100-300")
    with pytest.raises(ConfigError):
        FaultConfig(p_5xx=0.7, p_403=0.5)


def test_a_served_emulator_logs_a_dropped_connection_in_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = subprocess.Popen([sys.executable, "-m", "kitsu_ingest.cli", "emulator", "--port", str(port), "--users",
                               "50", "--p-drop", "1"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and served.poll() is None, "the emulator did not start"
                time.sleep(0.1)
        for offset in range(3):
            with pytest.raises(httpx.RemoteProtocolError):
                httpx.get(f"http://127.0.0.1:{port}/api/edge/users?page%5Boffset%5D={offset}", timeout=5)
    finally:
        served.terminate()
        _, err = served.communicate(timeout=30)
    dropped = [line for line in err.splitlines() if "dropped the connection mid-body" in line]
    assert "Traceback" not in err and len(dropped) == 3, err  # was a traceback of ~18 lines each
    assert dropped[0].endswith("GET /api/edge/users?page%5Boffset%5D=0")
