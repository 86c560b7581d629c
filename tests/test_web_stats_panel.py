"""The page's statistics panel in Chromium: the heatmap shows /stats's correlations, and the most
cointegrated pair's spread is drawn."""
from __future__ import annotations

import time

import requests

from exchange import mongo
from exchange.config import Settings
from tests.test_stats import price_paths

# The page tests' fixtures (a stack with web replicas, Chromium) and their skip when Chromium is missing.
from tests.test_web_page import WAIT_MS, browser, page_on, pytestmark, stack  # noqa: F401


def test_the_heatmap_and_the_spread_of_the_most_cointegrated_pair(stack, page_on, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    paths = price_paths(seed=11, n=60)
    now = int(time.time())
    last = now - now % 60
    db = mongo.database(stack.mongo_url, Settings.mongo_db)
    db[mongo.CANDLES].insert_many([
        {"_id": f"{symbol}:{last - (59 - i) * 60}", "symbol": symbol, "start": last - (59 - i) * 60, "open": close,
         "high": close, "low": close, "close": close, "volume": 1, "trades": 1}
        for symbol, closes in paths.items() for i, close in enumerate(closes)])
    stats = requests.get(f"{stack.base_url}/api/v1/stats?interval=1m&window=60", timeout=30).json()
    page = page_on()
    for pair in stats["pairs"]:
        a, b = pair["symbols"]
        for cell in (f"{a}/{b}", f"{b}/{a}"):
            expect(page.locator(f"#stats-heat td[data-pair='{cell}']")).to_have_text(
                f"{pair['correlation']:.2f}", timeout=WAIT_MS)
    expect(page.locator("#stats-heat td[data-pair='KRYP/KRYP']")).to_have_text("1.00")
    best = min(stats["pairs"], key=lambda pair: pair["cointegration"]["p_value"])
    assert best["symbols"] == ["KRYP", "ADAM"]  # built cointegrated (tests/test_stats.py)
    expect(page.locator("#stats-pair")).to_contain_text(f"KRYP/ADAM: hedge ratio {best['hedge_ratio']:.2f}")
    expect(page.locator("#stats-spread canvas").first).to_be_visible()
    strong = page.locator("#stats-heat td[data-pair='KRYP/ADAM']").evaluate("cell => getComputedStyle(cell).backgroundColor")
    assert strong != "rgb(255, 255, 255)"  # coloured by its correlation
    page.screenshot(path=str(tmp_path / "stats.png"), full_page=True)
