"""SYMBOLS with 24 symbols, end to end: the API lists them and opens accounts in all of them, the
matcher trades the last one, the ticker rolls its candle, the web feed streams its book and
trades, and the trading page offers all 24 and shows the last one's book.

One stack: an API replica, every worker, a web replica and nginx.
"""
from __future__ import annotations

import pytest
import requests

from tests.polling import wait_for
from tests.stack import start_stack
from tests.test_web_live import LiveClient
from tests.test_web_page import WAIT_MS, browser, page_on, pytestmark  # noqa: F401

SYMBOLS = tuple(f"S{chr(65 + n // 26)}{chr(65 + n % 26)}X" for n in range(24))
LAST = SYMBOLS[-1]


@pytest.fixture(scope="module")
def stack():
    with start_stack(replicas=1, web_replicas=1, env={"SYMBOLS": ",".join(SYMBOLS), "RATE_LIMIT": ""}) as running:
        yield running


def register(stack, name: str) -> dict:
    made = requests.post(f"{stack.base_url}/api/v1/users", json={"username": name, "password": "correct horse"},
                         timeout=30)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


def test_the_last_of_24_symbols_trades_streams_and_rolls_a_candle(stack):
    api = f"{stack.base_url}/api/v1"
    assert [s["symbol"] for s in requests.get(f"{api}/symbols", timeout=10).json()["symbols"]] == list(SYMBOLS)
    seller, buyer = register(stack, "seller24"), register(stack, "buyer24")
    assert set(requests.get(f"{api}/account", headers=buyer, timeout=10).json()["balances"]) == {*SYMBOLS, "USD"}
    live = LiveClient(stack.base_url, subscriptions=[{"symbol": LAST, "channels": ["book", "trades"]}])
    try:
        live.wait_for(lambda: any(name == "book_snapshot" and data["symbol"] == LAST for name, data in live.events),
                      f"{LAST}'s book snapshot")
        for headers, side in ((seller, "sell"), (buyer, "buy")):
            placed = requests.post(f"{api}/orders", headers=headers, timeout=10,
                                   json={"symbol": LAST, "side": side, "price": "7.25", "quantity": 2})
            assert placed.status_code == 201, placed.text
        assert placed.json()["status"] == "filled"
        live.wait_for(lambda: any(name == "trade" and data["symbol"] == LAST and data["price"] == "7.25"
                                  for name, data in live.events), f"{LAST}'s trade on the feed")
    finally:
        live.close()
    candle = wait_for(lambda: requests.get(f"{api}/candles/{LAST}", timeout=10).json()["candles"],
                      f"{LAST}'s candle")
    assert (candle[-1]["close"], candle[-1]["volume"]) == ("7.25", 2)
    assert requests.get(f"{api}/ticker/{LAST}", timeout=10).json()["last"] == "7.25"


def test_the_page_offers_all_24_and_shows_the_last_ones_book(stack, page_on):  # noqa: F811
    from playwright.sync_api import expect

    maker = register(stack, "maker24")
    requests.post(f"{stack.base_url}/api/v1/orders", headers=maker, timeout=10,
                  json={"symbol": LAST, "side": "sell", "price": "8.50", "quantity": 3}).raise_for_status()
    page = page_on()
    page.goto(stack.base_url)
    options = page.locator("#symbol option")
    expect(options).to_have_count(24, timeout=WAIT_MS)
    page.select_option("#symbol", LAST)
    expect(page.locator("body")).to_contain_text("8.50", timeout=WAIT_MS)
