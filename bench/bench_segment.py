"""`kitsu-ingest segment-users` at scale: build an N-user store, then time the command end to end.

    .venv/bin/python bench/bench_segment.py --users 10000 100000 1000000     # stores in /tmp
    .venv/bin/python bench/bench_segment.py --users 100000 --keep            # keep the store

The store is generated with the emulator's distributions, vectorised, by `bench/sitestore.py`.
Then `kitsu-ingest segment-users --k 2..12 --json` runs in a child process; its wall time and
peak RSS (ru_maxrss of the child) are reported and appended to bench/out/segment.json, with the
1-minute load average before and after (the machine is shared: other work inflates the times).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from sitestore import build_store

OUT = Path(__file__).resolve().parent / "out" / "segment.json"


def run_segment(path: Path, out_dir: Path, extra: list[str]) -> dict[str, object]:
    """Run the command in a child process; wall time, the child's peak RSS and its JSON report."""
    cmd = [str(Path(sys.executable).parent / "kitsu-ingest"), "segment-users", "--database-url",
           f"sqlite:///{path}", "--k", "2..12", "--out-dir", str(out_dir), "--json", *extra]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"segment-users failed: {done.stderr.strip()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = json.loads(done.stdout)
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak), "stages": report["seconds"],
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "k": report["k"], "clustered": report["clustered"], "entries": report["entries"],
            "tiers": report["tiers"], "excluded": report["excluded"],
            "sweep": report["sweep"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/kitsu-bench-segment"))
    parser.add_argument("--keep", action="store_true", help="Keep the stores afterwards.")
    parser.add_argument("--reuse", action="store_true", help="Reuse a store already built.")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--features", default="svd")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    for users in args.users:
        path = args.dir / f"segment-{users}.db"
        meta = path.with_suffix(".json")
        if args.reuse and meta.exists():
            built = json.loads(meta.read_text())
        else:
            started = time.perf_counter()
            built = build_store(f"sqlite:///{path}", users)
            built["store_mb"] = round(path.stat().st_size / 2**20)
            built["build_seconds"] = round(time.perf_counter() - started)
            meta.write_text(json.dumps(built))
        print(f"store: {built}", file=sys.stderr)
        if args.build_only:
            continue
        result = {"users": users, "store": built,
                  **run_segment(path, args.dir / f"plots-{users}", ["--features", args.features])}
        result["features"] = args.features
        print(json.dumps({k: v for k, v in result.items() if k != "sweep"}))
        history = json.loads(OUT.read_text()) if OUT.exists() else []
        OUT.write_text(json.dumps([*history, result], indent=1))
        if not args.keep:
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), meta):
                p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
