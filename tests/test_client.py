"""exchange_client.ExchangeClient against a real stack: every call it makes, and every way it fails."""
from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from devstack.procs import free_port
from exchange.money import parse_cash, parse_cents
from exchange_client import ApiError, ExchangeClient, MarketStream, to_cents
from tests.polling import wait_for
from tests.stack import start_stack, start_web

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def stack():
    with start_stack(replicas=2) as running:
        yield running


def api_error(call, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_register_login_and_account(stack):
    client = ExchangeClient(stack.base_url)
    registered = client.register("client_alice", PASSWORD)
    assert client.token == registered["token"] and client.user_id == registered["user_id"]
    account = client.account()
    assert account["user_id"] == client.user_id
    usd = account["balances"]["USD"]
    assert parse_cash(usd["available"]) > 0 and usd["on_hold"] == "0.00"
    assert account["balances"]["KRYP"]["available"] > 0

    again = ExchangeClient(stack.base_url)
    again.login("client_alice", PASSWORD)
    assert again.user_id == client.user_id and again.token
    assert again.account()["user_id"] == client.user_id

    wrong = api_error(ExchangeClient(stack.base_url).login, "client_alice", "not the password")
    assert (wrong.status, wrong.code) == (401, "invalid_credentials")
    taken = api_error(ExchangeClient(stack.base_url).register, "client_alice", PASSWORD)
    assert (taken.status, taken.code) == (409, "username_taken")
    anonymous = api_error(ExchangeClient(stack.base_url).account)
    assert anonymous.status == 401


def test_orders_market_data_and_fills(stack):
    seller, buyer = ExchangeClient(stack.base_url), ExchangeClient(stack.base_url)
    seller.register("client_seller", PASSWORD)
    buyer.register("client_buyer", PASSWORD)
    symbols = [s["symbol"] for s in seller.symbols()]
    assert "KRYP" in symbols

    resting = seller.place_order("KRYP", "sell", 7, price="42.50", client_order_id="ask-1")
    assert (resting["status"], resting["price"], resting["remaining_quantity"]) == ("new", "42.50", 7)
    assert seller.order(resting["order_id"])["client_order_id"] == "ask-1"
    assert [o["order_id"] for o in seller.open_orders("KRYP")] == [resting["order_id"]]
    book = buyer.book("KRYP", depth=5)
    assert book["asks"] == [["42.50", 7]] and book["bids"] == []
    assert buyer.ticker("KRYP")["ask"] == "42.50"

    taken = buyer.place_order("KRYP", "buy", 3, type="market", time_in_force="IOC")
    assert taken["status"] == "filled" and taken["fills"][0]["price"] == "42.50"
    assert [t["quantity"] for t in buyer.trades("KRYP", limit=5)] == [3]
    assert seller.order(resting["order_id"])["filled_quantity"] == 3

    canceled = seller.cancel_order(resting["order_id"])
    assert canceled["status"] == "canceled" and canceled["filled_quantity"] == 3
    again = api_error(seller.cancel_order, resting["order_id"])
    assert (again.status, again.code) == (409, "order_not_open")

    bids = [seller.place_order("ADAM", "buy", 1, price=p) for p in ("1.00", "1.01")]
    seller.place_order("PUPS", "buy", 1, price="1.00")
    only_adam = seller.cancel_all("ADAM")["canceled"]
    assert sorted(o["order_id"] for o in only_adam) == sorted(o["order_id"] for o in bids)
    assert [o["symbol"] for o in seller.open_orders()] == ["PUPS"]
    assert len(seller.cancel_all()["canceled"]) == 1 and seller.open_orders() == []

    deadline = time.monotonic() + 30  # fills come from the ledger of record, a moment behind
    while not buyer.fills("KRYP") and time.monotonic() < deadline:
        time.sleep(0.1)
    fill = buyer.fills("KRYP")[0]
    assert (fill["order_id"], fill["quantity"], fill["side"]) == (taken["order_id"], 3, "buy")
    assert parse_cents(fill["price"]) == 4_250


def test_a_program_signs_its_requests_with_an_api_key_through_nginx(stack):
    owner = ExchangeClient(stack.base_url)
    owner.register("client_keyholder", PASSWORD)
    key = owner.create_api_key(["read", "trade"], label="my bot")
    bot = ExchangeClient(stack.base_url, api_key=key["key_id"], api_secret=key["secret"])
    assert bot.account()["user_id"] == owner.user_id
    placed = bot.place_order("ADAM", "buy", 3, price="4.25", client_order_id="signed-1")
    assert [o["order_id"] for o in bot.open_orders("ADAM")] == [placed["order_id"]]  # a signed query string
    assert bot.cancel_order(placed["order_id"])["status"] == "canceled"
    reader = owner.create_api_key(["read"])
    refused = api_error(ExchangeClient(stack.base_url, api_key=reader["key_id"], api_secret=reader["secret"])
                        .place_order, "ADAM", "buy", 1, price="4.25")
    assert (refused.status, refused.code) == (403, "insufficient_scope")
    owner.revoke_api_key(key["key_id"])
    assert [k["key_id"] for k in owner.api_keys()] == [reader["key_id"]]
    assert api_error(bot.account).code == "invalid_api_key"


def test_the_rest_of_the_endpoints(stack):
    me = ExchangeClient(stack.base_url)
    me.register("client_everything", PASSWORD)
    seller = ExchangeClient(stack.base_url)
    seller.register("client_everything_seller", PASSWORD)
    seller.place_order("PUPS", "sell", 2, price="7.00")
    bought = me.place_order("PUPS", "buy", 2, price="7.00")
    resting = me.place_order("PUPS", "buy", 6, price="6.00")
    assert me.amend_order(resting["order_id"], 4)["quantity"] == 4
    assert me.balance()["user_id"] == me.user_id and me.holdings("PUPS")["symbol"] == "PUPS"
    assert me.book_hash("PUPS")["sequence"] == me.book("PUPS")["sequence"]
    wait_for(lambda: me.candles("PUPS", "1m"), what="the ticker to roll the trade")  # the ticker is a worker
    assert me.candles("PUPS", "1m")[-1]["close"] == "7.00"
    assert me.health()["status"] == "ok"
    csv = me.fills_csv(symbol="PUPS")
    assert csv.splitlines()[0].startswith("trade_id,") and bought["fills"][0]["trade_id"] in csv
    me.logout()
    assert me.token is None and api_error(ExchangeClient(stack.base_url, token=bought["order_id"]).account).status == 401


def test_bad_requests_raise_api_errors_with_the_servers_code(stack):
    client = ExchangeClient(stack.base_url)
    client.register("client_errors", PASSWORD)
    finer = api_error(client.place_order, "KRYP", "buy", 1, price="1.234")
    assert (finer.status, finer.code) == (400, "invalid_price")
    unknown = api_error(client.place_order, "NOPE", "buy", 1, price="1.00")
    assert (unknown.status, unknown.code) == (400, "unknown_symbol")
    broke = api_error(client.place_order, "KRYP", "buy", 1000, price="1000.00")  # $1,000,000: at the cap
    assert (broke.status, broke.code) == (422, "insufficient_funds")
    missing = api_error(client.order, "KRYP.nothing")
    assert (missing.status, missing.code) == (404, "not_found")
    assert "insufficient_funds" in str(broke) and broke.message


def test_public_lists_and_the_bots_api(stack):
    client = ExchangeClient(stack.base_url)
    client.register("client_lists", PASSWORD)
    board = client.leaderboard()
    assert "client_lists" in {row["username"] for row in board}
    mine = client.my_standing()  # my own row, with my balances
    assert mine["username"] == "client_lists" and mine["cash"] == "10000.00" and mine["shares"]["KRYP"] == 100
    assert all("cash" not in row for row in ExchangeClient(client.base_url).leaderboard())
    assert client.bots() == []


def test_rate_limits_and_network_failures_are_api_errors():
    with start_stack(replicas=1, workers=False, env={"RATE_LIMIT": "3/minute"}) as limited:
        client = ExchangeClient(limited.base_url)
        for _ in range(3):
            client.symbols()
        throttled = api_error(client.symbols)
        assert (throttled.status, throttled.code) == (429, "rate_limited")

    down = api_error(ExchangeClient(f"http://127.0.0.1:{free_port()}", timeout=2).symbols)
    assert (down.status, down.code) == (0, "connection_error")


@pytest.fixture(scope="module")
def live():
    """A stack with one web replica, for the MarketStream tests (each uses its own symbol)."""
    with start_stack(replicas=1, web_replicas=1) as running:
        yield running


def test_market_stream_follows_book_trades_and_private_orders(live):
    buyer, seller = ExchangeClient(live.base_url), ExchangeClient(live.base_url)
    buyer.register("stream_buyer", PASSWORD)
    seller.register("stream_seller", PASSWORD)
    with MarketStream(live.base_url, token=buyer.token) as stream:
        stream.subscribe("KRYP")
        assert stream.wait_for(lambda: stream.books["KRYP"].sequence >= 0), stream.errors
        bid = buyer.place_order("KRYP", "buy", 3, price="10.00")
        assert stream.wait_for(lambda: stream.levels("KRYP")[0] == [(1_000, 3)])
        seller.place_order("KRYP", "sell", 2, price="9.50")
        assert stream.wait_for(lambda: stream.last_price("KRYP") == 1_000)
        assert stream.wait_for(lambda: stream.levels("KRYP")[0] == [(1_000, 1)])
        assert stream.recent_prices("KRYP", 5) == [1_000]
        assert stream.wait_for(lambda: any(e.get("type") == "fill" for e in stream.orders))
        fill = next(e for e in stream.orders if e.get("type") == "fill")
        assert (fill["order_id"], fill["quantity"], fill["liquidity"]) == (bid["order_id"], 2, "maker")
        assert stream.errors == []


def test_market_stream_keeps_the_book_through_a_burst_without_a_resync(live):
    """Concurrent traders' orders: every book_update chains onto the one before as the stream
    handles them (in the order sent), so it never resubscribes, and ends with REST's levels."""
    traders = [ExchangeClient(live.base_url) for _ in range(3)]
    for number, trader in enumerate(traders):
        trader.register(f"burst_trader{number}", PASSWORD)

    def trade(trader: ExchangeClient, seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            price = f"{rng.randint(995, 1_005) / 100:.2f}"
            trader.place_order("KRYP", rng.choice(["buy", "sell"]), rng.randint(1, 5), price=price)

    with MarketStream(live.base_url) as stream:
        stream.subscribe("KRYP", channels=("book",))
        assert stream.wait_for(lambda: not stream.is_stale("KRYP")), stream.errors
        with ThreadPoolExecutor(len(traders)) as pool:
            list(pool.map(trade, traders, range(len(traders))))
        rest = traders[0].book("KRYP", depth=500)
        expected = ([(to_cents(p), q) for p, q in rest["bids"]], [(to_cents(p), q) for p, q in rest["asks"]])
        # Its last updates may still be on their way.
        assert stream.wait_for(lambda: stream.levels("KRYP") == expected), (stream.levels("KRYP"), expected)
        assert stream.resyncs == 0 and stream.errors == []


def test_market_stream_is_told_when_its_session_ends(live):
    user = ExchangeClient(live.base_url)
    user.register("stream_logout", PASSWORD)
    with MarketStream(live.base_url, token=user.token) as stream:
        stream.subscribe("KRYP")
        assert stream.wait_for(lambda: not stream.is_stale("KRYP")), stream.errors
        user.request("DELETE", "/sessions")  # log out: the token is revoked
        assert stream.wait_for(lambda: stream.session_ended is not None, timeout=5)
        assert stream.session_ended["code"] == "invalid_token"


def test_market_stream_subscribes_again_after_its_web_replica_restarts(live):
    buyer, seller = ExchangeClient(live.base_url), ExchangeClient(live.base_url)
    buyer.register("restart_buyer", PASSWORD)
    seller.register("restart_seller", PASSWORD)
    with MarketStream(live.base_url) as stream:
        stream.subscribe("ADAM")
        assert stream.wait_for(lambda: not stream.is_stale("ADAM")), stream.errors
        web = live.web[0]
        web.kill()  # SIGKILL, as a crashed replica: no goodbye
        web.stop()
        assert stream.wait_for(lambda: stream.is_stale("ADAM"), timeout=15)
        live.web[0] = start_web(1, web.port, live.child_env, web.log_dir)  # same port: nginx's config holds

        # The client reconnects on its own and must ask for its subscriptions again.
        assert stream.wait_for(lambda: not stream.is_stale("ADAM"), timeout=30), "no snapshot after reconnecting"
        seller.place_order("ADAM", "sell", 4, price="30.00")
        assert stream.wait_for(lambda: stream.levels("ADAM")[1] == [(3_000, 4)])
        buyer.place_order("ADAM", "buy", 1, price="30.00")
        assert stream.wait_for(lambda: stream.last_price("ADAM") == 3_000)
        assert stream.wait_for(lambda: stream.levels("ADAM")[1] == [(3_000, 3)])
        assert stream.errors == []


def test_a_gap_in_the_book_chain_asks_for_one_fresh_snapshot(live):
    seller = ExchangeClient(live.base_url)
    seller.register("gap_seller", PASSWORD)
    with MarketStream(live.base_url) as stream:
        stream.subscribe("PUPS", channels=("book",))
        assert stream.wait_for(lambda: not stream.is_stale("PUPS")), stream.errors
        sent, send = [], stream.sio.emit
        stream.sio.emit = lambda event, data=None: sent.append((event, data))  # held back until checked
        held = stream.books["PUPS"].sequence
        # Three updates that do not chain onto what the stream holds (it missed some):
        # one resubscribe, not one per update while the snapshot is on its way.
        for n in range(3):
            stream._on_update({"symbol": "PUPS", "sequence": held + 10 + n, "prev_sequence": held + 9 + n,
                               "changes": [["sell", "99.00", 1]]})
        assert sent == [("subscribe", {"symbol": "PUPS", "channels": ["book"]})] and stream.resyncs == 1
        stream.sio.emit = send
        send(*sent[0])  # the one resubscribe goes out now
        assert stream.wait_for(lambda: not stream.is_stale("PUPS"))
        assert stream.levels("PUPS") == ([], [])  # the real snapshot replaced the stale book
        seller.place_order("PUPS", "sell", 2, price="31.00")
        assert stream.wait_for(lambda: stream.levels("PUPS")[1] == [(3_100, 2)])
        assert stream.resyncs == 1 and stream.errors == []
