"""A stop-limit order from the page, in Chromium: placed from the form, listed untriggered with its
stop price among my open orders, then triggered by other users' trade and resting at its limit."""
from __future__ import annotations

import requests

# The page tests' fixtures (a stack with web replicas, Chromium) and their skip when Chromium is missing.
from tests.test_web_page import (  # noqa: F401
    SYMBOL,
    WAIT_MS,
    api_user,
    browser,
    page_on,
    pytestmark,
    stack,
    unique,
    wait_until_live,
)


def trade_at(running, price: str) -> None:
    seller, buyer = api_user(running), api_user(running)
    for headers, side in ((seller, "sell"), (buyer, "buy")):
        placed = requests.post(f"{running.base_url}/api/v1/orders", headers=headers, timeout=10,
                               json={"symbol": SYMBOL, "side": side, "price": price, "quantity": 1})
        assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "filled", placed.text


def test_a_stop_limit_from_the_form_waits_untriggered_then_rests(stack, page_on):  # noqa: F811
    from playwright.sync_api import expect

    trade_at(stack, "20.00")
    page = page_on()
    wait_until_live(page)
    page.fill("#auth-username", unique("stopper"))
    page.fill("#auth-password", "correct horse battery")
    page.click("#register")
    expect(page.locator("#balances tr[data-asset=KRYP] td").nth(1)).to_have_text("100")

    page.check("#order-form input[name=side][value=sell]")
    expect(page.locator("#order-stop-price-field")).to_be_hidden()
    page.select_option("#order-type", "stop_limit")
    expect(page.locator("#order-stop-price-field")).to_be_visible()
    expect(page.locator("#order-post-only")).to_be_disabled()
    page.fill("#order-price", "19.40")
    page.fill("#order-stop-price", "19.505")
    page.fill("#order-quantity", "4")
    page.click("#order-submit")
    expect(page.locator("#order-message")).to_contain_text("Stop price: Price 19.505 is not a multiple")
    page.fill("#order-stop-price", "19.50")
    page.click("#order-submit")
    expect(page.locator("#order-message")).to_contain_text("19.40 stop 19.50: untriggered")

    row = page.locator("#open-orders tr[data-order-id]")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text("19.40 stop 19.50")
    expect(row.locator("td").nth(5)).to_have_text("untriggered")
    expect(page.locator("#balances tr[data-asset=KRYP] td").nth(2)).to_have_text("4", timeout=WAIT_MS)
    expect(page.locator("#book-asks tr[data-price='19.40']")).to_have_count(0)  # parked off the book

    trade_at(stack, "19.50")  # reaches its stop price: it triggers and rests at its limit
    expect(row.locator("td").nth(5)).to_have_text("new", timeout=WAIT_MS)
    expect(page.locator("#book-asks tr[data-price='19.40'] td").nth(1)).to_have_text("4", timeout=WAIT_MS)
    row.locator("button.cancel").click()
    expect(row).to_have_count(0)
    expect(page.locator("#balances tr[data-asset=KRYP] td").nth(2)).to_have_text("0", timeout=WAIT_MS)
