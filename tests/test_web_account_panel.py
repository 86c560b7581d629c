"""The page's own-orders tools in Chromium: reduce an order in place, cancel all, the paged order
history, a toast when one of my orders fills, and the copy-API-token button."""
from __future__ import annotations

import time

import requests

# The page tests' fixtures (a stack with web replicas, Chromium) and their skip when Chromium is missing.
from tests.test_web_page import (  # noqa: F401
    SYMBOL,
    WAIT_MS,
    api_user,
    browser,
    page_on,
    place_in_form,
    pytestmark,
    stack,
    unique,
    wait_until_live,
)


def signed_up(open_page, name: str):
    """A fresh page, live, with a newly registered user signed in."""
    from playwright.sync_api import expect

    page = open_page()
    wait_until_live(page)
    page.fill("#auth-username", unique(name))
    page.fill("#auth-password", "correct horse battery")
    page.click("#register")
    expect(page.locator("#balances tr[data-asset=USD] td").nth(1)).to_have_text("10000.00")
    return page


def test_copy_token_reduce_and_cancel_all(stack, page_on):  # noqa: F811
    from playwright.sync_api import expect

    page = signed_up(page_on, "reducer")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.base_url)

    page.click("#copy-token")
    expect(page.locator("#auth-message")).to_contain_text("API token copied")
    token = page.evaluate("JSON.parse(localStorage.getItem('exchange.session')).token")
    assert page.evaluate("navigator.clipboard.readText()") == token

    place_in_form(page, "buy", "1.23", 5)
    place_in_form(page, "buy", "1.24", 3)
    rows = page.locator("#open-orders tr[data-order-id]")
    expect(rows).to_have_count(2)
    first = page.locator("#open-orders tr[data-order-id]", has_text="1.23")
    first.locator(".amend-quantity").fill("2")
    first.locator("button.amend").click()
    expect(page.locator("#orders-message")).to_contain_text("to 2.")
    expect(first.locator("td").nth(3)).to_have_text("2")
    expect(page.locator("#book-bids tr[data-price='1.23'] td").nth(1)).to_have_text("2", timeout=WAIT_MS)

    history = page.locator("#order-history tr[data-order-id]")
    expect(history).to_have_count(2)
    page.click("#cancel-all")
    expect(page.locator("#orders-message")).to_have_text("Canceled 2 orders.")
    expect(rows).to_have_count(0)
    expect(history.locator("td").nth(7)).to_have_text("canceled")
    expect(history.nth(1).locator("td").nth(7)).to_have_text("canceled")
    expect(history.last.locator("td").nth(5)).to_have_text("2")  # the oldest: reduced, then canceled


def test_a_fill_toast_and_the_paged_order_history(stack, page_on):  # noqa: F811
    from playwright.sync_api import expect

    page = signed_up(page_on, "history")
    token = page.evaluate("JSON.parse(localStorage.getItem('exchange.session')).token")
    me = {"Authorization": f"Bearer {token}"}
    # A fill of one of my orders: a toast says so, without a reload.
    place_in_form(page, "sell", "12.34", 3)
    rows = page.locator("#open-orders tr[data-order-id]")
    expect(rows).to_have_count(1)
    taker = requests.post(f"{stack.base_url}/api/v1/orders", headers=api_user(stack), timeout=10,
                          json={"symbol": SYMBOL, "side": "buy", "price": "12.34", "quantity": 3})
    assert taker.json()["status"] == "filled", taker.text
    expect(page.locator("#toasts .toast")).to_contain_text(f"Filled: sell 3 {SYMBOL} @ 12.34 (maker)",
                                                           timeout=WAIT_MS)

    # The history pages: 20 at a time, newest first, and older ones on request.
    for _ in range(20):
        placed = requests.post(f"{stack.base_url}/api/v1/orders", headers=me, timeout=10,
                               json={"symbol": SYMBOL, "side": "buy", "price": "1.00", "quantity": 1,
                                     "time_in_force": "IOC"})
        assert placed.status_code == 201, placed.text
    page.reload()
    history = page.locator("#order-history tr[data-order-id]")
    expect(history).to_have_count(20, timeout=WAIT_MS)
    expect(history.first.locator("td").nth(7)).to_have_text("canceled")  # an IOC that found nothing
    page.click("#history-more")
    expect(history).to_have_count(21)
    expect(page.locator("#history-more")).to_be_hidden()
    expect(history.last.locator("td").nth(4)).to_have_text("12.34")  # the oldest: the sell that filled
    expect(history.last.locator("td").nth(7)).to_have_text("filled")


def test_cost_preview_and_order_lines(stack, page_on):  # noqa: F811
    from playwright.sync_api import expect

    for side in ("sell", "buy"):  # a last price of 12.00
        placed = requests.post(f"{stack.base_url}/api/v1/orders", headers=api_user(stack), timeout=10,
                               json={"symbol": SYMBOL, "side": side, "price": "12.00", "quantity": 1})
        assert placed.status_code == 201, placed.text
    page = signed_up(page_on, "preview")

    # The preview: notional, the fee at most (TAKER_FEE_BPS 10), what is available; over it, in red.
    page.check("#order-form input[name=side][value=buy]")
    page.select_option("#order-type", "limit")
    page.fill("#order-price", "10.00")
    page.fill("#order-quantity", "5")
    preview = page.locator("#order-preview")
    expect(preview).to_have_text("Cost $50.00 + fee ≤ $0.05 · available $10000.00")
    page.fill("#order-quantity", "1001")
    expect(preview).to_have_text("Cost $10010.00 + fee ≤ $10.01 · available $10000.00: more than available")
    expect(preview).to_have_class("preview error")
    page.check("#order-form input[name=side][value=sell]")
    page.fill("#order-quantity", "7")
    expect(preview).to_have_text(f"Proceeds $70.00 − fee ≤ $0.07 · available 100 {SYMBOL}")

    # My open orders are price lines on the chart (an untriggered stop at its stop price).
    place_in_form(page, "buy", "11.11", 2)
    page.check("#order-form input[name=side][value=sell]")
    page.select_option("#order-type", "stop_limit")
    page.fill("#order-price", "10.90")
    page.fill("#order-stop-price", "11.00")
    page.fill("#order-quantity", "1")
    page.click("#order-submit")
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(2)
    page.wait_for_function("() => window.exchangeChart.orderLines().length === 2", timeout=WAIT_MS)
    lines = sorted(page.evaluate("window.exchangeChart.orderLines()"), key=lambda line: line["price"])
    assert lines == [{"price": 11.0, "title": "stop sell 1"}, {"price": 11.11, "title": "buy 2"}]


def test_fill_markers_and_the_daily_and_one_second_charts(stack, page_on):  # noqa: F811
    page = signed_up(page_on, "marker")
    # My fill is a marker on its bar: above it for a sell.
    place_in_form(page, "sell", "12.50", 1)
    taker = requests.post(f"{stack.base_url}/api/v1/orders", headers=api_user(stack), timeout=10,
                          json={"symbol": SYMBOL, "side": "buy", "price": "12.50", "quantity": 1})
    assert taker.json()["status"] == "filled", taker.text
    page.wait_for_function("() => window.exchangeChart.fillMarkers().length === 1", timeout=WAIT_MS)
    (marker,) = page.evaluate("window.exchangeChart.fillMarkers()")
    assert (marker["position"], marker["text"]) == ("aboveBar", "S 1 @ 12.50") and marker["time"] % 60 == 0

    # The daily chart: one bar for today, ending at the last trade; the marker moves onto it.
    page.click("[data-interval='1d']")
    page.wait_for_function("() => window.exchangeChart.lastBar()?.time % 86400 === 0", timeout=WAIT_MS)
    assert page.evaluate("window.exchangeChart.lastBar().close") == "12.50"
    assert page.evaluate("window.exchangeChart.fillMarkers()")[0]["time"] % 86400 == 0

    # The 1s chart: a bar a second, from the ticker's recent seconds, and each live trade in its own second.
    page.click("[data-interval='1s']")
    page.wait_for_function("() => window.exchangeChart.drawnIntervalS === 1", timeout=WAIT_MS)
    seller, buyer = api_user(stack), api_user(stack)
    time.sleep(1.05 - time.time() % 1)  # a second of its own: the earlier trade's is another bar
    requests.post(f"{stack.base_url}/api/v1/orders", headers=seller, timeout=10,
                  json={"symbol": SYMBOL, "side": "sell", "price": "12.40", "quantity": 4})
    bought = requests.post(f"{stack.base_url}/api/v1/orders", headers=buyer, timeout=10,
                           json={"symbol": SYMBOL, "side": "buy", "price": "12.40", "quantity": 4}).json()
    second = bought["fills"][0]["time"] // 1000
    page.wait_for_function(f"() => window.exchangeChart.lastBar()?.time === {second}", timeout=WAIT_MS)
    bar = page.evaluate("window.exchangeChart.lastBar()")
    assert (bar["close"], bar["volume"]) == ("12.40", 4)
