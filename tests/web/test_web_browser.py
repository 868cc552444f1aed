"""A real headless Chromium (Debian ``chromium`` + ``chromium-driver``, driven by Selenium) uses the app.

It loads the search page, searches ``玩具``, opens a notice, and manages a subscription through a signed link
(adds one, removes one, then unsubscribes with the confirmation button). Screenshots go to the test's temp dir.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_testlib import recipient, token_for

from tbtwatch.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="headless browser test needs Debian chromium and chromium-driver "
    "(apt-get install chromium chromium-driver fonts-wqy-zenhei)",
)


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,1400",
        "--lang=zh-CN",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def test_search_open_notice_and_manage_subscription(
    browser: object, web_url: str, web_settings: Settings, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    driver = browser
    wait = WebDriverWait(driver, 30)

    driver.get(f"{web_url}/search")
    assert "检索" in driver.title
    driver.save_screenshot(str(tmp_path / "1-search.png"))

    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys("玩具")
    driver.find_element(By.ID, "search-button").click()
    wait.until(ec.url_contains("q="))
    links = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "a.notice-link")]
    assert "G/TBT/N/CHN/2058" in links
    assert driver.find_elements(By.CSS_SELECTOR, "#results mark")
    driver.save_screenshot(str(tmp_path / "2-results.png"))

    driver.find_element(By.LINK_TEXT, "G/TBT/N/CHN/2058").click()
    wait.until(ec.presence_of_element_located((By.ID, "notice")))
    assert "民用无人驾驶航空器唯一产品识别码" in driver.find_element(By.ID, "title-zh").text
    assert "civil unmanned aircraft" in driver.find_element(By.ID, "title-orig").text
    assert driver.find_element(By.ID, "deadline").text
    driver.save_screenshot(str(tmp_path / "3-notice.png"))

    token = token_for(web_settings, "browser@test.example.cn")
    driver.get(f"{web_url}/subscriptions/{token}")
    assert "浏览器测试企业" in driver.find_element(By.ID, "recipient").text
    driver.find_element(By.ID, "sub-name").send_keys("电暖器")
    driver.find_element(By.ID, "sub-hs").send_keys("8516")
    driver.find_element(By.ID, "add-button").click()
    wait.until(ec.presence_of_element_located((By.ID, "message")))
    rows = driver.find_elements(By.CSS_SELECTOR, "tr.subscription")
    assert len(rows) == 2 and "8516" in rows[1].text
    driver.save_screenshot(str(tmp_path / "4-manage.png"))

    # the page after the POST has a message too: wait until the old page is gone, not for "a" message
    before = driver.find_element(By.ID, "message")
    rows[0].find_element(By.CSS_SELECTOR, "button.delete-subscription").click()
    wait.until(ec.staleness_of(before))
    wait.until(ec.presence_of_element_located((By.ID, "message")))
    subs = recipient(web_settings, "exporter-browser")["subscriptions"]
    assert subs == [{"name": "电暖器", "hs_prefixes": ["8516"]}]

    driver.find_element(By.ID, "unsubscribe-link").click()
    wait.until(ec.presence_of_element_located((By.ID, "unsubscribe-button")))
    assert recipient(web_settings, "exporter-browser")["addresses"] == [
        {"address": "browser@test.example.cn", "unsubscribed_at": None}
    ]  # showing the page changed nothing
    driver.find_element(By.ID, "unsubscribe-button").click()
    wait.until(ec.presence_of_element_located((By.ID, "unsubscribe-done")))
    driver.save_screenshot(str(tmp_path / "5-unsubscribed.png"))
    addresses = recipient(web_settings, "exporter-browser")["addresses"]
    assert isinstance(addresses, list) and addresses[0]["unsubscribed_at"]

    driver.find_element(By.ID, "manage-link").click()  # changed their mind: subscribe again
    button = wait.until(ec.presence_of_element_located((By.ID, "resubscribe-button")))
    button.click()
    wait.until(ec.staleness_of(button))
    wait.until(ec.presence_of_element_located((By.ID, "unsubscribe-link")))
    assert "已重新订阅" in driver.find_element(By.ID, "message").text
    assert recipient(web_settings, "exporter-browser")["addresses"] == [
        {"address": "browser@test.example.cn", "unsubscribed_at": None}
    ]
    for name in ("1-search", "2-results", "3-notice", "4-manage", "5-unsubscribed"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
