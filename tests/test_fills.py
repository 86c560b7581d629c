"""A user's fills are read out of the trade documents of the ledger of record: one document per
trade holds both sides. Paged against a reference model on a real MongoDB-wire server."""
from __future__ import annotations

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from exchange import mongo
from exchange.paging import decode_cursor
from exchange.trade_fills import fill_key, fills_of
from ledger.history import History, Window
from orderbook.history import FILL_KEY, fills_page

USERS = ("u0", "u1", "u2")


def trade(trade_id: str, time: int, buyer: str, seller: str, taker: str = "buy", symbol: str = "KRYP") -> dict:
    return {"_id": trade_id, "symbol": symbol, "epoch": 1, "sequence": int(trade_id.rsplit("-", 1)[1]),
            "price": 1234, "quantity": 3, "time": time, "taker_side": taker,
            "buy_order_id": f"{symbol}.b{trade_id}", "sell_order_id": f"{symbol}.s{trade_id}",
            "buyer_id": buyer, "seller_id": seller, "user_ids": [buyer, seller], "buyer_fee": 7, "seller_fee": 2}


def test_a_trade_holds_one_fill_per_side_as_its_user_sees_it():
    sold = trade("KRYP-1-5", 1_000, "alice", "bob", taker="sell")
    assert fills_of(sold, "bob") == [{
        "_id": "KRYP-1-5:sell", "trade_id": "KRYP-1-5", "symbol": "KRYP", "side": "sell", "user_id": "bob",
        "order_id": "KRYP.sKRYP-1-5", "price": 1234, "quantity": 3, "fee": 2, "liquidity": "taker",
        "time": 1_000, "sequence": 5}]
    [bought] = fills_of(sold, "alice")
    assert (bought["_id"], bought["order_id"], bought["fee"], bought["liquidity"]) == (
        "KRYP-1-5:buy", "KRYP.bKRYP-1-5", 7, "maker")
    assert fills_of(sold, "carol") == []
    assert [f["side"] for f in fills_of(trade("KRYP-1-6", 1_000, "alice", "alice"), "alice")] == ["buy", "sell"]
    assert [f["user_id"] for f in fills_of(sold)] == ["alice", "bob"]  # no user: both sides


# Sequences 5, 50 and 500 in one millisecond: ids where one is a prefix of another, so the order
# of trade ids ("KRYP-1-5" < "KRYP-1-50") is not the order of fill ids ("KRYP-1-5:buy" > "KRYP-1-50:buy").
a_trade = st.tuples(st.sampled_from((5, 50, 500, 7, 71, 8)), st.sampled_from(("KRYP", "ADAM")),
                    st.integers(1_000, 1_003), st.sampled_from(USERS), st.sampled_from(USERS),
                    st.sampled_from(("buy", "sell")))


@hyp_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(drawn=st.lists(a_trade, max_size=30, unique_by=lambda t: (t[0], t[1])), limit=st.integers(1, 4),
       symbol=st.sampled_from((None, "KRYP")), window=st.sampled_from(((None, None), (1_001, 1_003))))
def test_every_page_of_fills_is_the_model_newest_first_each_once(settings, drawn, limit, symbol, window):
    db = mongo.database(settings.mongo_url, settings.mongo_db)
    mongo.ensure_indexes(db)
    db[mongo.TRADES].delete_many({})
    trades = [trade(f"{sym}-1-{seq}", time, buyer, seller, taker, sym)
              for seq, sym, time, buyer, seller, taker in drawn]
    if trades:
        db[mongo.TRADES].insert_many(trades)
    start, end = window
    history = History(db)
    for user in USERS:
        model = sorted((f for t in trades for f in fills_of(t, user)
                        if (symbol is None or t["symbol"] == symbol)
                        and (start is None or start <= t["time"]) and (end is None or t["time"] < end)),
                       key=fill_key, reverse=True)
        paged, below = [], None
        while True:
            page, cursor = fills_page(history, user, symbol, Window(limit, below, start, end))
            assert len(page) <= limit
            paged += page
            if cursor is None:
                break
            below = decode_cursor(cursor, FILL_KEY)  # as the API decodes what the client passes back
        assert [(f["trade_id"], f["side"]) for f in paged] == [(f["trade_id"], f["side"]) for f in model], user
