"""Price bands: the matcher refuses a limit order priced more than PRICE_BAND_BPS from the
symbol's reference price (the last trade, else the mid), and a market order's collar stops at
the band's edge. The reference is the book's own, at match time, in journal order."""
from __future__ import annotations

from dataclasses import replace

import pytest

from exchange.scripts import Scripts
from ledger.accounts import Accounts
from orderbook.entry import OrderEntry
from orderbook.errors import ApiError
from orderbook.schemas import PlaceOrder
from tests.journal import assert_journal_is_sequential, read_journal

ORDERS = "/api/v1/orders"


@pytest.fixture
def settings(settings):
    # A collar far wider than the band, so the band is what stops a market order.
    return replace(settings, price_band_bps=1000, market_collar_bps=5000, halt_move_bps=None)  # no halts here


def place(client, headers, side, price, quantity=1, **more):
    return client.post(ORDERS, json={"symbol": "KRYP", "side": side, "price": price, "quantity": quantity, **more},
                       headers=headers)


def trade_at(client, buyer, seller, price: str) -> None:
    assert place(client, seller, "sell", price).status_code == 201
    assert place(client, buyer, "buy", price).json["status"] == "filled"


def test_an_order_just_inside_the_band_rests_and_one_just_outside_is_refused(client, register, settle, audit):
    alice, bob = register("alice"), register("bob")
    trade_at(client, alice, bob, "10.00")  # the reference: 10 % either side is $9.00 to $11.00
    for side, inside, outside in (("buy", "9.00", "8.99"), ("sell", "11.00", "11.01")):
        assert place(client, alice, side, inside).json["status"] == "new"
        refused = place(client, alice, side, outside)
        assert refused.status_code == 422 and refused.json["error"]["code"] == "price_out_of_band", refused.json
    settle()
    balances = client.get("/api/v1/account", headers=alice).json["balances"]
    assert balances["USD"]["on_hold"] == "9.00" and balances["KRYP"]["on_hold"] == 1  # the refused hold nothing
    audit()


def test_without_trades_the_mid_is_the_reference_and_an_empty_book_has_no_band(client, register):
    alice, bob = register("alice"), register("bob")
    assert place(client, bob, "sell", "50.00").json["status"] == "new"  # one side only: no mid, no band
    assert place(client, bob, "buy", "30.00").json["status"] == "new"  # mid $40.00: $36.00 to $44.00
    assert place(client, alice, "buy", "35.99").json["error"]["code"] == "price_out_of_band"
    assert place(client, alice, "sell", "43.99").json["status"] == "new"


def test_a_market_order_trades_up_to_the_bands_edge_and_no_further(client, register, settle, audit, redis_client):
    alice, bob = register("alice"), register("bob")
    for price, quantity in (("10.00", 2), ("10.99", 1), ("11.00", 1), ("11.01", 1), ("12.00", 1)):
        assert place(client, bob, "sell", price, quantity).json["status"] == "new"  # no bids: no band yet
    assert place(client, alice, "buy", "10.00").json["status"] == "filled"  # the reference: $10.00
    bought = client.post(ORDERS, json={"symbol": "KRYP", "side": "buy", "type": "market", "quantity": 5},
                         headers=alice).json  # its collar, 50 % over $10.00, would reach $15.00
    assert [fill["price"] for fill in bought["fills"]] == ["10.00", "10.99", "11.00"]
    assert (bought["status"], bought["filled_quantity"]) == ("canceled", 3)
    accepted = [e for e in read_journal(redis_client, "KRYP") if e["type"] == "accepted"][-1]
    assert (accepted["order"]["protection_price"], accepted["order"]["book_protection_price"]) == (1500, 1100)
    assert_journal_is_sequential(redis_client, "KRYP")  # a replay trades with the collar the book used
    settle()
    audit()  # its hold, set from the wider collar, is released in full
    assert client.get("/api/v1/account", headers=alice).json["balances"]["USD"]["on_hold"] == "0.00"


def test_each_trade_moves_the_band_for_the_next_order(client, register):
    alice, bob = register("alice"), register("bob")
    trade_at(client, alice, bob, "10.00")
    trade_at(client, alice, bob, "10.90")  # inside $9.00-$11.00; now the band is $9.81-$11.99
    assert place(client, alice, "sell", "9.50").json["error"]["code"] == "price_out_of_band"  # inside the old one
    assert place(client, alice, "buy", "11.99").json["status"] == "new"  # outside the old one


def test_another_replica_follows_the_reference_through_the_journal(settings, redis_client):
    """Two order-entry processes' matchers on one book: each bands by the trades of the other,
    caught up from the journal rather than reloaded."""
    scripts = Scripts(redis_client)
    accounts = Accounts(redis_client, scripts)
    for user in ("carol", "dave"):
        accounts.open(user, 10**8, {"KRYP": 1000})
    first, second = (OrderEntry(settings, redis_client, accounts, scripts) for _ in range(2))

    def order(entry, user, side, price):
        return entry.place(user, PlaceOrder(symbol="KRYP", side=side, price=price, quantity=1))

    assert order(second, "carol", "sell", "30.00")[1]["status"] == "new"  # the second loads the book
    assert order(first, "dave", "buy", "30.00")[1]["status"] == "filled"  # the first trades at $30.00
    with pytest.raises(ApiError) as refused:
        order(second, "carol", "buy", "26.99")
    assert refused.value.code == "price_out_of_band"
    assert second.matchers["KRYP"].cache.catch_ups >= 1 and second.matchers["KRYP"].cache.book.last_price == 3000


def test_the_band_is_set_in_basis_points_or_turned_off():
    from exchange.config import Settings

    assert Settings.from_env({}).price_band_bps == 1000
    assert Settings.from_env({"PRICE_BAND_BPS": "250"}).price_band_bps == 250
    assert Settings.from_env({"PRICE_BAND_BPS": ""}).price_band_bps is None
    assert Settings.from_env({"PRICE_BAND_BPS": "0"}).price_band_bps is None
    for bad in ("10000", "-5", "ten"):
        with pytest.raises(SystemExit, match="PRICE_BAND_BPS"):
            Settings.from_env({"PRICE_BAND_BPS": bad})


def test_the_band_applies_to_a_stop_as_it_triggers(client, register, settle, audit, redis_client):
    alice, bob, carol = register("alice"), register("bob"), register("carol")
    trade_at(client, carol, bob, "10.00")
    # Parked, its limit is outside no band yet: the band applies when it enters the book.
    far = place(client, alice, "sell", "8.00", type="stop_limit", stop_price="9.50").json
    assert far["status"] == "untriggered"
    near = client.post(ORDERS, json={"symbol": "KRYP", "side": "sell", "type": "stop", "stop_price": "9.40",
                                     "quantity": 2}, headers=alice).json  # its collar: 50 % down, $4.70
    assert place(client, carol, "buy", "9.00", 2).status_code == 201  # what the market stop sells to
    trade_at(client, carol, bob, "9.50")  # the reference is $9.50 now: the band is $8.55 to $10.45
    refused = client.get(f"{ORDERS}/{far['order_id']}", headers=alice).json
    assert (refused["status"], refused["reason"]) == ("rejected", "price_out_of_band")
    assert client.get(f"{ORDERS}/{near['order_id']}", headers=alice).json["status"] == "untriggered"
    trade_at(client, carol, bob, "9.40")  # band $8.46 to $10.34: the stop sells at $9.00, inside it
    sold = client.get(f"{ORDERS}/{near['order_id']}", headers=alice).json
    assert (sold["status"], [(f["price"], f["quantity"]) for f in sold["fills"]]) == ("filled", [("9.00", 2)])
    triggered = [e for e in read_journal(redis_client, "KRYP") if e["type"] == "triggered"]
    assert [e["book_protection_price"] for e in triggered] == [None, 846]  # its collar pulled in to the band
    assert_journal_is_sequential(redis_client, "KRYP")
    settle()
    audit()
