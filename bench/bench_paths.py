"""The paths users combine, run as users run them (each command its own process, wall time as a
user sees it): the README's quickstart at several population sizes, and a real file dataset
(Last.fm, ../shared/data) trained on and then asked through every command.

    python bench/bench_paths.py quickstart --users 1000 --users 5000 --users 20000
    python bench/bench_paths.py file        # Last.fm's user_artists.dat, names from artists.dat

quickstart: db upgrade, crawl --sample N and --users 70211 from the in-process emulator (of
max(N, 20,000) users), segment-users, recommend train (the default search), recommend user 70211;
goal: ten titled anime for user 70211, whichever family is kept.
file: recommend train --interactions (default search), then user, similar, batch and serve's JSON
routes and dashboard; goal: every one answers. Prints one JSON document per run.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import click

BIN = Path(sys.executable).parent
LASTFM = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "lastfm-hetrec2011-2k"


def _run(folder: Path, *command: str) -> tuple[float, str, str]:
    """(seconds, stdout, stderr) of one command in `folder`; exits on failure."""
    started = time.perf_counter()
    done = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'kitsu.db'}",
                               "MODEL_DIR": str(folder / "models")})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return seconds, done.stdout, done.stderr


def _rows(printed: str) -> list[str]:
    """The result lines of a `recommend user` or `similar` table."""
    return [line for line in printed.splitlines() if re.match(r"\s+\d+\s+\S+\s+-?\d", line)]


@click.group()
def main() -> None:
    """Every path, as users combine them."""


@main.command()
@click.option("--users", "sizes", type=int, multiple=True, default=(1000, 5000, 20000), show_default=True)
@click.option("--budget", type=float, default=120.0, show_default=True)
def quickstart(sizes: tuple[int, ...], budget: float) -> None:
    """The README's first command at each population size."""
    for size in sizes:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            site = ["--emulator", "--emulator-users", str(max(size, 20_000))]
            seconds: dict[str, float] = {}
            seconds["upgrade"] = _run(folder, "kitsu-ingest", "db", "upgrade")[0]
            seconds["crawl"] = _run(folder, "kitsu-ingest", "crawl", "--sample", str(size), *site, "--quiet")[0]
            seconds["crawl_70211"] = _run(folder, "kitsu-ingest", "crawl", "--users", "70211", *site, "--quiet")[0]
            seconds["segment"] = _run(folder, "kitsu-ingest", "segment-users", "--no-plots")[0]
            seconds["train"], out, _ = _run(folder, "recommend", "train", "--budget", str(budget), "--json")
            trained = json.loads(out)
            seconds["user"], printed, _ = _run(folder, "recommend", "user", "70211")
            rows = _rows(printed)
            titled = [row for row in rows if "not in the store" not in row]
            print(json.dumps({"users": size, "kept": trained["family"], "margin": trained["margin"],
                              "test_ndcg@10": trained["test"][trained["family"]].get("ndcg@10"),
                              "rows": len(rows), "titled": len(titled), "met": len(titled) == 10,
                              "seconds": {k: round(v, 1) for k, v in seconds.items()}}), flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@main.command()
@click.option("--interactions", type=click.Path(exists=True, path_type=Path), default=LASTFM / "user_artists.dat")
@click.option("--items", type=click.Path(exists=True, path_type=Path), default=LASTFM / "artists.dat")
@click.option("--user", default="2", show_default=True, help="A user to ask for.")
@click.option("--budget", type=float, default=120.0, show_default=True)
def file(interactions: Path, items: Path, user: str, budget: float) -> None:
    """Train on a file (Last.fm by default), then every command that uses the model."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        columns = ["--interactions", str(interactions.resolve()), "--user-col", "userID", "--item-col", "artistID",
                   "--weight-col", "weight", "--items", str(items.resolve()), "--items-key-col", "id",
                   "--title-col", "name"]
        seconds: dict[str, float] = {}
        report: dict[str, Any] = {"dataset": str(interactions.name)}
        seconds["train"], out, _ = _run(folder, "recommend", "train", *columns, "--budget", str(budget), "--json")
        trained = json.loads(out)
        report.update(kept=trained["family"], test_ndcg=trained["test"][trained["family"]].get("ndcg@10"))
        seconds["user"], out, _ = _run(folder, "recommend", "user", user, "--json")
        answer = json.loads(out)
        report["user_items"] = len(answer["items"])
        report["user_titled"] = sum(bool(i["title"]) for i in answer["items"])
        first = str(answer["items"][0]["anime_id"])
        seconds["similar"], out, _err = _run(folder, "recommend", "similar", first, "--json")
        report["similar_items"] = len(json.loads(out)["items"])
        seconds["batch"], out, _ = _run(folder, "recommend", "batch", "--out", str(folder / "b.parquet"), "--json")
        report["batch"] = json.loads(out)
        port = _free_port()
        server = subprocess.Popen([str(BIN / "recommend"), "serve", "--port", str(port)], cwd=folder,
                                  env={**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'none.db'}",
                                       "MODEL_DIR": str(folder / "models")},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert server.stderr is not None
        try:
            base = f"http://127.0.0.1:{port}"
            started = time.perf_counter()
            while time.perf_counter() - started < 120:
                if server.poll() is not None:
                    sys.exit(f"recommend serve exited ({server.returncode}): {server.stderr.read()[-2000:]}")
                try:
                    if _get(f"{base}/health")[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            seconds["serve_start"] = time.perf_counter() - started
            routes = [f"/users/{user}/recommendations", f"/users/{user}/recommendations?explain=true",
                      f"/anime/{first}/similar", "/health", "/", "/dashboard/models",
                      f"/dashboard/users?id={user}", f"/dashboard/anime?q={first}"]
            report["serve"] = {route: _get(base + route)[0] for route in routes}
        finally:
            server.terminate()
            server.wait(10)
        report["met"] = report["user_items"] == 10 and report["similar_items"] > 0 and \
            all(status == 200 for status in report["serve"].values())
        report["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
