"""The report page in a real headless Chromium (Debian's chromium + chromedriver, driven by
Selenium): it draws, its collapsible sections toggle, its contents anchors resolve, the console
stays clean and no request leaves the host. Skipped, with the reason, without a browser."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from formatters.html_report import render_html_report
from handlers.runtime.report_pages import HEADERS
from tests.data.reference_day import reference_digest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "no Chromium and ChromeDriver on this machine (apt-get install chromium "
        "chromium-driver; .ci/run installs them where it may)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """The zh reference day's page on 127.0.0.1, with the headers serve sends."""
    page = render_html_report(reference_digest("zh")).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            for name, value in HEADERS.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/reports/1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu"):
        options.add_argument(flag)
    # A phone's viewport (412 CSS pixels wide): the page must read there.
    metrics = {"width": 412, "height": 915, "pixelRatio": 2.0}
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    options.binary_location = CHROMIUM or ""
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_page_draws_toggles_resolves_its_anchors_and_stays_on_its_host(
    served: str, browser: Any, tmp_path: Any
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(served)
    shot = browser.get_screenshot_as_png()
    assert shot.startswith(b"\x89PNG") and len(shot) > 20_000  # not a blank page
    (tmp_path / "report.png").write_bytes(shot)
    # Nothing overflows a phone's width (tables scroll inside their own box).
    width, inner = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert inner == 412 and width <= inner
    sections = browser.find_elements(By.CSS_SELECTOR, "details")
    assert sections
    for section in sections:
        summary = section.find_element(By.CSS_SELECTOR, "summary")
        browser.execute_script("arguments[0].scrollIntoView()", summary)
        was_open = section.get_attribute("open") is not None
        summary.click()
        assert (section.get_attribute("open") is not None) is not was_open
        summary.click()
        assert (section.get_attribute("open") is not None) is was_open
    anchors = browser.execute_script(
        "return [...document.querySelectorAll('a[href^=\"#\"]')].map(a => a.hash.slice(1))"
    )
    assert anchors
    missing = browser.execute_script(
        "return arguments[0].filter(id => !document.getElementById(decodeURIComponent(id)))",
        anchors,
    )
    assert missing == []
    errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert errors == []
    hosts = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if not url.startswith("data:"):
                hosts.add(urlsplit(url).hostname)
    assert hosts == {"127.0.0.1"}
