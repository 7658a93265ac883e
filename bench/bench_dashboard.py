"""Dashboard page render times in a real browser, on a real store (the quickstart's, by default).

    python bench/bench_dashboard.py [--database-url sqlite:///data/kitsu.db] [--model-dir models]
                                    [--segments-dir reports/segments] [--user 70211] [--runs 5]

`recommend serve` runs in a subprocess on the given store and models; Debian's headless Chromium
(Selenium, /usr/bin/chromium and /usr/bin/chromedriver) opens every page once cold (the server's
first visit) and then `--runs` times, and each visit's render time is read from the browser's
Navigation Timing: navigation start to the load event (the HTML, the stylesheet and the images
above the fold), beside the server's share (request to the response's last byte). Goal: every
visit of every page (the first included) under 300 ms. Figures go to bench/out/dashboard.json,
screenshots (of the cold visits) to bench/out/dashboard-bench/.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

OUT = Path(__file__).resolve().parent / "out"
RECOMMEND = str(Path(sys.executable).parent / "recommend")
GOAL_MS = 300
SHOTS = OUT / "dashboard-bench"


def _browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def _visit(driver: Any, url: str) -> dict[str, float]:
    driver.get(url)
    timing = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return {load_ms: n.loadEventEnd - n.startTime, server_ms: n.responseEnd - n.requestStart};")
    return {k: round(float(v), 1) for k, v in timing.items()}


def _serve(env: dict[str, str], segments_dir: str) -> tuple[subprocess.Popen[str], str]:
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([RECOMMEND, "serve", "--port", str(port), "--segments-dir", segments_dir], env=env,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"{base}/docs", timeout=2).raise_for_status()
            return server, base
        except httpx.HTTPError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.terminate()
                raise SystemExit(f"the server did not start: {server.stderr.read() if server.stderr else ''}") from None
            time.sleep(0.3)


@click.command()
@click.option("--database-url", default=None, help="Default: $DATABASE_URL, else sqlite:///data/kitsu.db.")
@click.option("--model-dir", default=None, help="Default: $MODEL_DIR, else models.")
@click.option("--segments-dir", default="reports/segments", show_default=True)
@click.option("--user", "user_id", type=int, default=70211, show_default=True)
@click.option("--runs", type=int, default=5, show_default=True, help="Warm visits of each page.")
def main(database_url: str | None, model_dir: str | None, segments_dir: str, user_id: int, runs: int) -> None:
    """Time every dashboard page in headless Chromium (see the module docstring)."""
    import httpx

    env = dict(os.environ)
    if database_url:
        env["DATABASE_URL"] = database_url
    if model_dir:
        env["MODEL_DIR"] = model_dir
    server, base = _serve(env, segments_dir)
    try:
        answer = httpx.get(f"{base}/users/{user_id}/recommendations?n=1", timeout=30)
        first = answer.json()["items"][0] if answer.status_code == 200 and answer.json()["items"] else None
        title = (first or {}).get("title") or "a"
        pages = {"home": "/", "store": "/dashboard/store", "models": "/dashboard/models",
                 "segments": "/dashboard/segments", "user": f"/dashboard/users?id={user_id}",
                 "user-planned": f"/dashboard/users?id={user_id}&planned=true",
                 "anime-id": f"/dashboard/anime?q={first['anime_id'] if first else 1}",
                 "anime-title": f"/dashboard/anime?q={quote(title.split(':')[0][:20])}", "docs": "/docs"}
        SHOTS.mkdir(parents=True, exist_ok=True)
        driver = _browser()
        try:
            figures: dict[str, Any] = {}
            for name, path in pages.items():
                cold = _visit(driver, base + path)
                driver.save_screenshot(str(SHOTS / f"{name}.png"))
                warm = [_visit(driver, base + path)["load_ms"] for _ in range(runs)]
                figures[name] = {"path": path, "cold_ms": cold["load_ms"], "cold_server_ms": cold["server_ms"],
                                 "median_ms": statistics.median(warm), "max_ms": max(warm)}
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait(10)
    worst = max(f["median_ms"] for f in figures.values())
    worst_visit = max(max(f["cold_ms"], f["max_ms"]) for f in figures.values())
    report = {"store": env.get("DATABASE_URL", "sqlite:///data/kitsu.db"), "runs": runs, "goal_ms": GOAL_MS,
              "pages": figures, "worst_median_ms": worst, "worst_cold_ms": max(f["cold_ms"] for f in figures.values()),
              "worst_visit_ms": worst_visit, "met": worst_visit < GOAL_MS, "load_average": os.getloadavg()[0]}
    OUT.mkdir(exist_ok=True)
    (OUT / "dashboard.json").write_text(json.dumps(report, indent=2) + "\n")
    click.echo(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
