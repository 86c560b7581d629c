"""The trading page in a real browser (Debian's Chromium driven by Playwright)
against a real stack behind nginx: two API replicas, two web replicas, the
workers. A person registers, places and cancels an order, trades with another
user, and watches the book, the tape, the chart and their account move live.
"""
from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.stack import start_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LEAD_SCREENSHOT = Path("/tmp/lead/page.png")
SYMBOL = "KRYP"
WAIT_MS = 20_000  # the longest any live update may take to show, not a performance bound

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed (/usr/bin/chromium): .ci/run installs it")


@pytest.fixture(scope="module")
def stack():
    vendored = Path(__file__).resolve().parent.parent / "web" / "node_modules" / "lightweight-charts"
    assert vendored.is_dir(), "web/node_modules is missing: run `npm ci` in web/ (make test does)"
    with start_stack(replicas=2, web_replicas=2) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_on(browser, stack):
    """page_on(width, height) -> a fresh page on the stack; fails the test on a script error or
    a request that leaves the stack (the page must work with no internet)."""
    contexts, script_errors, outside, missing = [], [], [], []
    own_host = urlsplit(stack.base_url).netloc

    def note_request(request) -> None:
        if urlsplit(request.url).netloc != own_host and not request.url.startswith(("data:", "blob:")):
            outside.append(request.url)

    def note_response(response) -> None:  # a file the page asks for and the stack lacks (a favicon, say)
        if response.status == 404 and "/api/" not in response.url:
            missing.append(response.url)

    def open_page(width: int = 1400, height: int = 1000):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: script_errors.append(str(error)))
        page.on("request", note_request)
        page.on("response", note_response)
        page.goto(stack.base_url + "/")
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert script_errors == []
    assert outside == []
    assert missing == []


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def api_user(stack) -> dict:
    body = requests.post(f"{stack.base_url}/api/v1/users", timeout=10,
                         json={"username": unique("rest"), "password": "correct horse battery"})
    assert body.status_code == 201, body.text
    return {"Authorization": f"Bearer {body.json()['token']}"}


def wait_until_live(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#symbol")).to_have_value(SYMBOL, timeout=WAIT_MS)
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT_MS)


def place_in_form(page, side: str, price: str, quantity: int) -> None:
    page.check(f"#order-form input[name=side][value={side}]")
    page.select_option("#order-type", "limit")
    page.fill("#order-price", price)
    page.fill("#order-quantity", str(quantity))
    page.click("#order-submit")


def test_register_trade_cancel_and_watch_the_market_live(stack, page_on, tmp_path):
    from playwright.sync_api import expect

    page = page_on()
    wait_until_live(page)
    # The vendored libraries come from this server, and TradingView's attribution is on the page.
    expect(page.locator(".footer a[href='https://www.tradingview.com/']")).to_be_visible()
    expect(page.locator("#chart a[href*='tradingview.com']")).to_have_count(1)

    username = unique("trader")
    page.fill("#auth-username", username)
    page.fill("#auth-password", "correct horse battery")
    page.click("#register")
    expect(page.locator("#whoami")).to_have_text(username)
    expect(page.locator("#balances tr[data-asset=USD] td").nth(1)).to_have_text("10000.00")
    expect(page.locator("#balances tr[data-asset=KRYP] td").nth(1)).to_have_text("100")

    # The form refuses a price off the tick itself; the API's own refusals are shown as they come.
    place_in_form(page, "buy", "12.345", 5)
    expect(page.locator("#order-message")).to_contain_text("0.01 tick")
    place_in_form(page, "sell", "50.00", 1000)
    expect(page.locator("#order-message")).to_contain_text("insufficient_funds")
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(0)

    # A resting buy: in my orders, on hold in my balance, on the live book; canceled, it goes from all three.
    place_in_form(page, "buy", "1.23", 5)
    my_order = page.locator("#open-orders tr[data-order-id]")
    expect(my_order).to_have_count(1)
    expect(my_order.locator("td").nth(2)).to_have_text("1.23")
    expect(page.locator("#book-bids tr[data-price='1.23'] td").nth(1)).to_have_text("5", timeout=WAIT_MS)
    expect(page.locator("#balances tr[data-asset=USD] td").nth(2)).not_to_have_text("0.00")
    my_order.locator("button.cancel").click()
    expect(my_order).to_have_count(0)
    expect(page.locator("#book-bids tr[data-price='1.23']")).to_have_count(0, timeout=WAIT_MS)
    expect(page.locator("#balances tr[data-asset=USD] td").nth(2)).to_have_text("0.00")

    # I offer 3 at 12.34; another user takes them over REST. The trade reaches the tape and
    # the chart, and my order leaves "my orders" from the private order event, without a reload.
    place_in_form(page, "sell", "12.34", 3)
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(1)
    expect(page.locator("#book-asks tr[data-price='12.34'] td").nth(1)).to_have_text("3", timeout=WAIT_MS)
    taker = requests.post(f"{stack.base_url}/api/v1/orders", headers=api_user(stack), timeout=10,
                          json={"symbol": SYMBOL, "side": "buy", "type": "limit", "price": "12.34",
                                "quantity": 3, "time_in_force": "IOC"})
    assert taker.status_code == 201 and taker.json()["status"] == "filled", taker.text
    trade_id = taker.json()["fills"][0]["trade_id"]

    tape_row = page.locator(f"#tape tr[data-trade-id='{trade_id}']")
    expect(tape_row.locator("td").nth(1)).to_have_text("12.34", timeout=WAIT_MS)
    expect(tape_row.locator("td").nth(2)).to_have_text("3")
    page.wait_for_function("() => window.exchangeChart.lastBar()?.close === '12.34'", timeout=WAIT_MS)
    # The ticker's 1m candle brings the volume (trades move only the prices).
    page.wait_for_function("() => window.exchangeChart.lastBar()?.volume === 3", timeout=WAIT_MS)
    assert page.evaluate("window.exchangeChart.lastBar().drawn.close") == 12.34
    expect(page.locator("#book-asks tr[data-price='12.34']")).to_have_count(0, timeout=WAIT_MS)
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(0, timeout=WAIT_MS)
    expect(page.locator("#quote-last")).to_have_text("12.34", timeout=WAIT_MS)
    expect(page.locator("#balances tr[data-asset=KRYP] td").nth(1)).to_have_text("97", timeout=WAIT_MS)
    expect(page.locator(f"#fills tr[data-trade-id='{trade_id}'] td").nth(3)).to_have_text("12.34",
                                                                                          timeout=WAIT_MS)

    # The other user quotes both sides: the ladder and the quote header follow.
    maker = api_user(stack)
    for side, price, quantity in (("buy", "12.10", 10), ("buy", "12.05", 4), ("sell", "12.60", 7)):
        placed = requests.post(f"{stack.base_url}/api/v1/orders", headers=maker, timeout=10,
                               json={"symbol": SYMBOL, "side": side, "price": price, "quantity": quantity})
        assert placed.status_code == 201, placed.text
    expect(page.locator("#book-bids tr[data-price] td:first-child")).to_have_text(["12.10", "12.05"],
                                                                                 timeout=WAIT_MS)
    expect(page.locator("#book-asks tr[data-price='12.60'] td").nth(1)).to_have_text("7", timeout=WAIT_MS)
    expect(page.locator("#quote-spread")).to_have_text("0.50", timeout=WAIT_MS)

    # Another interval folds the same trade into its bar.
    page.click("[data-interval='5m']")
    page.wait_for_function("() => window.exchangeChart.interval === '5m' && "
                           "window.exchangeChart.lastBar()?.close === '12.34'", timeout=WAIT_MS)

    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    LEAD_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, LEAD_SCREENSHOT)

    # Logged out, the account panels empty and the session is gone on reload.
    page.click("#logout")
    expect(page.locator("#auth-form")).to_be_visible()
    page.reload()
    wait_until_live(page)
    expect(page.locator("#auth-form")).to_be_visible()
    expect(page.locator("#balances tr")).to_have_count(0)


def test_bots_panel_and_leaderboard(stack, page_on, tmp_path):
    """A rule bot from the JSON editor: a bad rule shows the API's error naming the bad node's
    path; a good one is listed with its state and can be stopped. The leaderboard lists me."""
    from playwright.sync_api import expect

    page = page_on()
    wait_until_live(page)
    username = unique("botter")
    page.fill("#auth-username", username)
    page.fill("#auth-password", "correct horse battery")
    page.click("#register")
    expect(page.locator("#whoami")).to_have_text(username)
    expect(page.locator("#my-bots")).to_contain_text("No bots yet.")

    page.click("[data-bot-editor=json]")
    page.fill("#bot-name", "never-fires")
    page.fill("#bot-json", '{"$when": {"$comparison": {"itemA": {"$ask": "PUPS"}, "type": "lte", "itemB": "0.01"}},'
                           ' "$do": [{"$order": {"kind": "LIMIT", "intent": "BUY", "bid": "0.01", "shares": 0}}]}')
    page.click("#bot-create")
    expect(page.locator("#bot-message")).to_contain_text("$.$do[0].$order.shares")
    expect(page.locator("#bot-message")).to_contain_text("invalid_rule")
    page.fill("#bot-json", "{not json")
    page.click("#bot-create")
    expect(page.locator("#bot-message")).to_contain_text("not valid JSON")
    expect(page.locator("#my-bots tr[data-bot-id]")).to_have_count(0)

    page.fill("#bot-json", '{"$when": {"$comparison": {"itemA": {"$ask": "PUPS"}, "type": "lte", "itemB": "0.01"}},'
                           ' "$do": [{"$order": {"kind": "LIMIT", "intent": "BUY", "bid": "0.01", "shares": 2}}],'
                           ' "$then": {"$do": {"$cancelAll": {}}}}')
    page.click("#bot-create")
    bot = page.locator("#my-bots tr[data-bot-id]")
    expect(bot).to_have_count(1)
    expect(bot.locator("td").nth(0)).to_have_text("never-fires")
    expect(bot.locator("td").nth(1)).to_have_text("waiting")
    expect(bot.locator("td").nth(2)).to_have_text("1/2")
    bot.locator("button.stop").click()
    expect(bot.locator("td").nth(1)).to_have_text("stopped")
    expect(bot.locator("button.stop")).to_have_count(0)

    # The threshold form writes the same kind of rule.
    page.click("[data-bot-editor=rule]")
    page.select_option("#rule-operand", "$bid")
    page.select_option("#rule-symbol", "ADAM")
    page.select_option("#rule-comparison", "gte")
    page.fill("#rule-value", "999.00")
    page.select_option("#rule-side", "SELL")
    page.fill("#rule-shares", "1")
    page.fill("#rule-price", "999.00")
    page.click("#rule-create")
    expect(page.locator("#my-bots tr[data-bot-id]")).to_have_count(2)
    expect(page.locator("#my-bots tr[data-bot-id]").first.locator("td").nth(1)).to_have_text("waiting")

    # A bot whose rule holds at once: the runner fires it, its order reaches my open orders
    # (a private order event), and the bot shows done with what it did.
    page.click("[data-bot-editor=json]")
    page.fill("#bot-name", "fires")
    page.fill("#bot-json", '{"$when": {"$comparison": {"itemA": {"$position": "KRYP"}, "type": "gte", "itemB": 1}},'
                           ' "$do": {"$order": {"kind": "LIMIT", "intent": "SELL", "ask": "999.00", "shares": 1,'
                           ' "symbol": "KRYP"}}}')
    page.click("#bot-create")
    fired = page.locator("#my-bots tr[data-bot-id]").first
    expect(fired.locator("td").nth(1)).to_have_text("done", timeout=WAIT_MS)
    expect(fired.locator("td").nth(3)).to_have_text("step 1: sell 1 KRYP @ 999.00 → new, filled 0")
    expect(page.locator("#open-orders tr[data-order-id] td").nth(2)).to_have_text("999.00", timeout=WAIT_MS)

    me = page.locator(f"#leaderboard tr[data-username='{username}']")
    expect(me).to_have_count(1, timeout=WAIT_MS)
    expect(me).to_have_class(re.compile(r"\bme\b"))
    expect(me.locator("td").nth(3)).to_have_text(re.compile(r"^-?\d+\.\d\d$"))
    page.screenshot(path=str(tmp_path / "bots.png"), full_page=True)


def test_a_logout_elsewhere_signs_the_page_out(stack, page_on):
    """The page's token is revoked by another client: the live tier ends its session and
    the page signs out, saying why, and stays live for market data."""
    from playwright.sync_api import expect

    page = page_on()
    wait_until_live(page)
    username = unique("elsewhere")
    page.fill("#auth-username", username)
    page.fill("#auth-password", "correct horse battery")
    page.click("#register")
    expect(page.locator("#whoami")).to_have_text(username)
    # Signing in reconnects the live socket with the token; revoked before that socket is up,
    # the token would be refused at connect, which is another path.
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT_MS)
    token = page.evaluate("JSON.parse(localStorage.getItem('exchange.session')).token")
    revoked = requests.delete(f"{stack.base_url}/api/v1/sessions", headers={"Authorization": f"Bearer {token}"},
                              timeout=10)
    assert revoked.status_code == 204
    expect(page.locator("#auth-message")).to_contain_text("Your session ended", timeout=5_000)
    expect(page.locator("#auth-form")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT_MS)


def test_phone_width_has_one_column_and_no_horizontal_overflow(stack, page_on, tmp_path):
    from playwright.sync_api import expect

    page = page_on(390, 844)
    wait_until_live(page)
    expect(page.locator("#chart canvas").first).to_be_visible()
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page is {widths[0]}px wide on a {widths[1]}px screen"
    # Wide tables may scroll inside their own panel; nothing may stick out of the screen.
    overflowing = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 0.5)
        .filter((node) => {
            for (let up = node.parentElement; up && up !== document.body; up = up.parentElement) {
                if (getComputedStyle(up).overflowX !== 'visible') return false;
            }
            return true;
        })
        .map((node) => node.tagName + (node.id ? '#' + node.id : ''))""")
    assert overflowing == []
    lefts = page.evaluate("[...document.querySelectorAll('main > .panel')].map((p) => p.getBoundingClientRect().left)")
    assert len(set(lefts)) == 1, f"panels are not in one column: {lefts}"
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)


def test_vendor_files_are_served_locally_and_nothing_else_from_node_modules(stack):
    for name, marker in (("lightweight-charts.mjs", "Lightweight Charts"), ("socket.io.esm.min.js", "Socket.IO"),
                         ("lightweight-charts.LICENSE.txt", "Apache License")):
        response = requests.get(f"{stack.base_url}/vendor/{name}", timeout=10)
        assert response.status_code == 200
        assert marker in response.text[:2000]
        if name.endswith(("js", "mjs")):
            assert re.match(r"(text|application)/javascript", response.headers["content-type"])
    assert requests.get(f"{stack.base_url}/vendor/package.json", timeout=10).status_code == 404
    assert requests.get(f"{stack.base_url}/vendor/..%2Fpackage.json", timeout=10).status_code == 404


def test_depth_book_and_price_checks_as_the_browser_runs_them(stack, page_on):
    """The page's own modules, in the browser: deltas in sequence, a gap detected, qty 0
    removing a level; a limit price off the 0.01 tick refused, in integer ticks."""
    page = page_on()
    result = page.evaluate("""async () => {
        const { DepthBook } = await import('/static/js/book.js');
        const { priceProblem, toTicks, fromTicks } = await import('/static/js/money.js');
        const book = new DepthBook('KRYP');
        const early = book.applyUpdate({ sequence: 5, prev_sequence: 4, changes: [] });
        book.loadSnapshot({ symbol: 'KRYP', sequence: 10, bids: [['12.30', 5], ['12.31', 2]], asks: [['12.40', 7]] });
        const stale = book.applyUpdate({ sequence: 9, prev_sequence: 8, changes: [['buy', '1.00', 1]] });
        const applied = book.applyUpdate({ sequence: 12, prev_sequence: 10,
            changes: [['buy', '12.31', 0], ['sell', '12.35', 4], ['bid', '12.29', 1], ['ask', '12.40', 3]] });
        const levels = { bids: book.levels('bids', 10), asks: book.levels('asks', 10) };
        const gap = book.applyUpdate({ sequence: 14, prev_sequence: 13, changes: [['buy', '12.00', 1]] });
        const afterGap = book.applyUpdate({ sequence: 15, prev_sequence: 14, changes: [] });
        return { early, stale, applied, gap, afterGap, sequence: book.sequence,
                 bids: levels.bids.map((l) => [l.price, l.qty]), asks: levels.asks.map((l) => [l.price, l.qty]),
                 tick: priceProblem('12.345'), ok: priceProblem('12.34'), zero: priceProblem('0.00'),
                 word: priceProblem('12,34'), ticks: toTicks('12.3'), back: fromTicks(1205) };
    }""")
    assert result["early"] == "ignored" and result["stale"] == "ignored"
    assert result["applied"] == "applied"
    assert result["bids"] == [["12.30", 5], ["12.29", 1]]
    assert result["asks"] == [["12.35", 4], ["12.40", 3]]
    assert (result["gap"], result["afterGap"], result["sequence"]) == ("gap", "ignored", None)
    assert "0.01 tick" in result["tick"] and result["ok"] is None
    assert result["zero"] and result["word"]
    assert (result["ticks"], result["back"]) == (1230, "12.05")


def test_a_halt_shows_a_banner_until_the_symbol_reopens(stack, page_on):
    """An operator halts the symbol on screen: the page says so at once (the status event),
    a page opened during the halt says so too (the quote), and the banner goes at the reopening."""
    import redis
    from playwright.sync_api import expect

    from exchange.config import Settings
    from orderbook.operator import set_trading

    client = redis.Redis.from_url(stack.redis_url)
    settings = Settings(redis_url=stack.redis_url)
    page = page_on()
    wait_until_live(page)
    page.select_option("#symbol", "PUPS")
    banner = page.locator("#halt-banner")
    expect(banner).to_be_hidden()
    try:
        assert set_trading(client, settings, "PUPS", halt=True)["status"] == "halted"
        expect(banner).to_contain_text("Trading in PUPS is halted", timeout=WAIT_MS)
        expect(banner).to_contain_text("the operator halted it")
        later = page_on()
        wait_until_live(later)
        later.select_option("#symbol", "PUPS")
        expect(later.locator("#halt-banner")).to_be_visible(timeout=WAIT_MS)
        later.select_option("#symbol", SYMBOL)
        expect(later.locator("#halt-banner")).to_be_hidden(timeout=WAIT_MS)  # the other symbols trade on
    finally:
        set_trading(client, settings, "PUPS", halt=False)
        client.close()
    expect(banner).to_be_hidden(timeout=WAIT_MS)
