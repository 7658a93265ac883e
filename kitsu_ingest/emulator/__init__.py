"""A local Kitsu API (`/api/edge`) with a deterministic synthetic population and fault injection.

    app = create_app(EmulatorConfig(users=20_000, seed=7, faults=FaultConfig(p_5xx=0.01)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://kitsu.test/api/edge") as client: ...

or, without faults, `in_process_transport(users, seed)` with base URL `EMULATOR_URL`.
`EmulatorConfig(day=1)` (or `in_process_transport(users, seed, day=1)`) serves the same site a day
later: entries edited, added and deleted, users registered; `filter[since]=` NOW (`day_start(1)`)
without `filter[userId]` is the site-wide delta.

Or from a shell: `kitsu-ingest emulator --port 8765 --users 20000 --seed 7`.
The contract is `shared/KITSU_API.md`; the generative model is described in `population.py`.
"""

from __future__ import annotations

from kitsu_ingest.emulator.app import EmulatorConfig, create_app
from kitsu_ingest.emulator.catalogue import Catalogue
from kitsu_ingest.emulator.faults import FaultConfig, parse_latency
from kitsu_ingest.emulator.model import NOW, day_start
from kitsu_ingest.emulator.population import HEAVY_USER, STATUSES, History, Population, User
from kitsu_ingest.emulator.transport import EMULATOR_URL, in_process_transport
from kitsu_ingest.emulator.truth import EntryTruth, UserTruth, ground_truth, user_truth

__all__ = [
    "EMULATOR_URL", "HEAVY_USER", "NOW", "STATUSES", "Catalogue", "EmulatorConfig", "EntryTruth", "FaultConfig",
    "History", "Population", "User", "UserTruth", "create_app", "day_start", "ground_truth", "in_process_transport",
    "parse_latency", "user_truth",
]
