"""The emulator in-process: an httpx transport that serves its app without a socket (offline
crawls, tests, demos). A client uses it with `EMULATOR_URL` as its base URL."""

from __future__ import annotations

import httpx

from kitsu_ingest.emulator.app import PREFIX, EmulatorConfig, create_app

__all__ = ["EMULATOR_URL", "in_process_transport"]

EMULATOR_URL = f"http://kitsu.emulator{PREFIX}"


def in_process_transport(users: int, seed: int, day: int = 0, churn: float = 0.01,
                         growth: float = 0.001) -> httpx.AsyncBaseTransport:
    """A transport to a fresh emulator of `users` users generated from `seed`, as of the end of `day`."""
    config = EmulatorConfig(users=users, seed=seed, day=day, churn=churn, growth=growth)
    return httpx.ASGITransport(app=create_app(config))
