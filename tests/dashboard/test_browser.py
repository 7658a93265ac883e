"""The dashboard as a person uses it: Debian's headless Chromium (through Selenium and Debian's
chromedriver, nothing downloaded) walks every page of a served app at a laptop's and at a phone's
width, searches a user and an anime (a non-ASCII title), follows links, and checks what it shows
against the JSON API's answers. Screenshots and each page's render time (navigation start to the
load event, from the browser's Navigation Timing) go to bench/out/dashboard/ (or
$DASHBOARD_SHOTS): timings.json beside the PNGs. Times are reported, never asserted.

Without /usr/bin/chromium and /usr/bin/chromedriver (`.ci/run` installs them) the test skips on
a developer's machine and fails in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import NON_ASCII_ID, NON_ASCII_TITLE, Site

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
OUT = Path(os.environ.get("DASHBOARD_SHOTS", Path(__file__).resolve().parents[2] / "bench" / "out" / "dashboard"))
LAPTOP, PHONE = (1280, 900), (390, 844)


@pytest.fixture(scope="module")
def base_url(site: Site) -> Iterator[str]:
    """The app served by uvicorn (as `recommend serve` serves it) on a free loopback port."""
    from recommender.serving.server import make_server

    server = make_server(site.app())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        message = f"{' and '.join(missing)} missing: apt-get install chromium chromium-driver (.ci/run does)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-extensions", "--no-first-run", f"--window-size={LAPTOP[0]},{LAPTOP[1]}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


class Walk:
    """The browser, the API beside it, and what the walk records."""

    def __init__(self, driver: Any, base: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver, self.base, self.by = driver, base, By
        self.api = httpx.Client(base_url=base, timeout=30)
        self.timings: dict[str, dict[str, float]] = {}
        OUT.mkdir(parents=True, exist_ok=True)

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def record(self, name: str) -> str:
        """Check the page just loaded (no script, no broken image, no error page unless asked),
        time it, screenshot it; returns its text."""
        driver, by = self.driver, self.by
        assert driver.find_elements(by.TAG_NAME, "script") == []
        assert "Traceback" not in driver.page_source
        broken = driver.execute_script(
            "return [...document.images].filter(i => i.loading != 'lazy' && (!i.complete || !i.naturalWidth))"
            ".map(i => i.src)")
        assert broken == [], broken
        timing = driver.execute_script(
            "const n = performance.getEntriesByType('navigation')[0];"
            "return {load_ms: n.loadEventEnd - n.startTime, dom_ms: n.domContentLoadedEventEnd - n.startTime,"
            " server_ms: n.responseEnd - n.requestStart};")
        self.timings[name] = {k: round(float(v), 1) for k, v in timing.items()}
        driver.save_screenshot(str(OUT / f"{name}.png"))
        return " ".join(str(driver.find_element(by.TAG_NAME, "main").text).split())

    def submit(self, form_action: str, field: str, value: str) -> None:
        """Type `value` into the form's field and press Enter, as a person would."""
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait

        box = self.driver.find_element(self.by.CSS_SELECTOR, f'form[action="{form_action}"] input[name="{field}"]')
        box.clear()
        box.send_keys(value + Keys.ENTER)
        WebDriverWait(self.driver, 30).until(lambda d: self._stale(box))

    def follow(self, css: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        link = self.driver.find_element(self.by.CSS_SELECTOR, css)
        link.click()
        WebDriverWait(self.driver, 30).until(lambda d: self._stale(link))

    def _stale(self, element: Any) -> bool:
        from selenium.common.exceptions import StaleElementReferenceException

        try:
            element.is_enabled()
            return False
        except StaleElementReferenceException:
            return True

    def shown_ids(self, table: str) -> list[int]:
        cells = self.driver.find_elements(self.by.CSS_SELECTOR, f"#{table} td.title")
        return [int(c.get_attribute("data-anime")) for c in cells]


def test_a_person_walks_the_dashboard(site: Site, base_url: str, browser: Any) -> None:
    walk = Walk(browser, base_url)
    health = walk.api.get("/health").json()

    walk.open("/")
    text = walk.record("home")
    assert f"model {health['model_version']}" in browser.find_element(walk.by.CSS_SELECTOR, "header").text
    assert "users 61" in text and f"family {site.card.family}" in text

    walk.submit("/dashboard/users", "id", "7")  # a user, from the home page's search
    assert browser.current_url.endswith("/dashboard/users?id=7")
    text = walk.record("user")
    api = walk.api.get("/users/7/recommendations", params={"n": 10, "explain": "true"}).json()
    assert walk.shown_ids("recommendations") == [i["anime_id"] for i in api["items"]]
    assert api["items"][0]["title"] in text and "Library" in text

    walk.follow("#toggle-planned")  # planned anime back in
    walk.record("user-planned")
    api = walk.api.get("/users/7/recommendations", params={"n": 10, "include_planned": "true"}).json()
    assert walk.shown_ids("recommendations") == [i["anime_id"] for i in api["items"]]

    first = walk.shown_ids("recommendations")[0]
    walk.follow("#recommendations td.title a")  # to the first one's similar anime
    text = walk.record("anime")
    assert int(browser.find_element(walk.by.ID, "anime-heading").get_attribute("data-anime")) == first
    api = walk.api.get(f"/anime/{first}/similar", params={"n": 10}).json()
    assert walk.shown_ids("similar") == [i["anime_id"] for i in api["items"]]

    walk.submit("/dashboard/anime", "q", "kidōtai: umi")  # a title, not ASCII
    text = walk.record("anime-title")
    assert NON_ASCII_TITLE in text
    api = walk.api.get(f"/anime/{NON_ASCII_ID}/similar", params={"n": 10}).json()
    assert walk.shown_ids("similar") == [i["anime_id"] for i in api["items"]]

    for name, link in (("store", "Store"), ("models", "Models"), ("segments", "Segments"), ("docs", "API")):
        browser.find_element(walk.by.LINK_TEXT, link).click()
        text = walk.record(name)
        if name == "store":
            assert "Crawl in progress: run 2" in text and "malformed 2, nsfw 1" in text
        elif name == "models":
            rows = browser.find_elements(walk.by.CSS_SELECTOR, "#test-figures tbody th")
            assert sorted(r.text.replace(" (this model)", "") for r in rows) == sorted(site.card.test)
            assert f"Model card: {health['model_version']}" in text
        elif name == "segments":
            assert len(browser.find_elements(walk.by.CSS_SELECTOR, "figure img")) == 3
        else:
            document = walk.api.get("/openapi.json").json()
            for path, methods in document["paths"].items():
                for method in methods:
                    assert f"{method.upper()} {path}" in text

    walk.open("/dashboard/users?id=4242")
    text = walk.record("user-unknown")
    assert "User 4242 is unknown" in text and "kitsu-ingest crawl --users 4242" in text

    browser.set_window_size(*PHONE)  # a phone: nothing wider than the screen but the tables' own scroll
    for name, path in (("home", "/"), ("store", "/dashboard/store"), ("models", "/dashboard/models"),
                       ("segments", "/dashboard/segments"), ("user", "/dashboard/users?id=7"),
                       ("anime", f"/dashboard/anime?q={NON_ASCII_ID}"), ("docs", "/docs")):
        walk.open(path)
        walk.record(f"phone-{name}")
        width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (name, width)
    browser.set_window_size(*LAPTOP)

    report = {"store": "tests/dashboard/conftest.py (60 users, 30 anime)", "goal_ms": 300,
              "pages": walk.timings, "slowest_load_ms": max(t["load_ms"] for t in walk.timings.values())}
    (OUT / "timings.json").write_text(json.dumps(report, indent=2) + "\n")
    assert set(walk.timings) >= {"home", "user", "anime", "store", "models", "segments", "docs"}
    assert all(re.fullmatch(r"[\w-]+", name) for name in walk.timings)
