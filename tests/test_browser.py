"""End to end in real headless Chromium: search, read highlights, click a facet.

Chromium and its driver come with `make install-test` (scripts/os-packages.sh test); without
them the test fails, saying so, rather than skip.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.serial
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1200,1400",
)


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium with its own profile; console messages kept for checks."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    assert not missing, f"{', '.join(missing)} missing: run `scripts/os-packages.sh test`"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def test_search_highlights_and_facet_filter_in_chromium(
    browser: Any, demo_index_dir: Path, tmp_path: Path, running_server: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 10)
    with running_server(demo_index_dir, tmp_path / "serve.log") as server:
        browser.get(server.url)
        box = browser.find_element(By.NAME, "q")
        box.send_keys("benh vi")  # autocomplete: app.js fills a <datalist> from /api/suggest
        with urllib.request.urlopen(server.url + "api/suggest?q=benh+vi", timeout=10) as resp:
            expected = json.load(resp)["suggestions"]
        assert expected, "the API suggests nothing for 'benh vi'"
        options = (By.CSS_SELECTOR, "#q-goi-y option")
        wait.until(ec.presence_of_all_elements_located(options))
        shown = [o.get_attribute("value") for o in browser.find_elements(*options)]
        assert shown == expected
        box.clear()
        box.send_keys("da nang" + Keys.ENTER)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".hit-title mark")))
        marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, ".hit-title mark")]
        assert {"Đà Nẵng", "Ðà Nẵng"} & set(marks), marks
        assert browser.find_element(By.ID, "q-top").get_attribute("list") == "q-top-goi-y"

        year = browser.find_element(By.CSS_SELECTOR, ".facet-year a[href*='from=2019-01-01']")
        year.click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".active-filters .chip")))
        assert "Năm 2019" in browser.find_element(By.CSS_SELECTOR, ".active-filters").text
        dates = [
            t.get_attribute("datetime") for t in browser.find_elements(By.CSS_SELECTOR, ".hit time")
        ]
        assert dates and all(d.startswith("2019-") for d in dates), dates
        assert browser.find_elements(By.CSS_SELECTOR, ".hit mark")
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors  # nothing blocked by the CSP, no failed loads
