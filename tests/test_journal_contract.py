"""The journal's contract (exchange.journal): every kind round-trips, and nothing else reads the wire form."""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange import journal
from ledger.postings import POSTING_KINDS, postings_for

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("exchange", "orderbook", "ledger", "ticker", "web", "bots", "devstack", "bench")

ids = st.text("abcdef0123456789-", min_size=1, max_size=20)
ints = st.integers(min_value=0, max_value=2**53)
terms = st.fixed_dictionaries(
    {"side": st.sampled_from(["buy", "sell"]), "type": st.sampled_from(["limit", "market"]),
     "price": st.none() | ints, "protection_price": st.none() | ints, "quantity": ints,
     "time_in_force": st.sampled_from(["GTC", "IOC", "FOK"]), "post_only": st.booleans(),
     "self_trade": st.sampled_from(["cancel_resting", "cancel_taker", "cancel_both"]),
     "client_order_id": st.none() | ids, "maker_fee_bps": ints, "taker_fee_bps": ints, "hold": ints},
    optional={"book_protection_price": ints})


def _values(field: dataclasses.Field):
    """A strategy for one field of a journal event, from its annotation."""
    enums = {"side": journal.Side, "taker_side": journal.Side, "status": journal.Status,
             "code": journal.RejectReason}
    if field.name in enums:
        return st.sampled_from(list(enums[field.name]))
    if field.name == "order":
        return terms
    text = str(field.type)
    if "None" in text:
        return st.none() | ints
    return ints if text == "int" else ids


def events_of(cls) -> st.SearchStrategy:
    reasons = {journal.DoneEvent: journal.DoneReason, journal.HaltedEvent: journal.HaltReason,
               journal.ResumedEvent: journal.ResumeReason}
    fields = {f.name: _values(f) for f in dataclasses.fields(cls) if f.init}
    if cls in reasons:
        fields["reason"] = st.sampled_from(list(reasons[cls]))
    return st.builds(cls, **fields)


any_event = st.one_of([events_of(cls) for cls in journal.JournalEvent.__args__])


@given(any_event)
def test_every_kind_round_trips_through_the_stream_and_the_archive(event):
    assert journal.decode(journal.encode(event)) == event
    document = journal.as_document(event)
    assert journal.from_document({**document, "_id": "ignored"}) == event
    assert orjson.loads(journal.encode(event)) == document  # the archive keeps what the stream holds
    assert document["type"] == event.type.value


def test_the_wire_form_of_a_trade_is_the_documented_one():
    trade = journal.TradeEvent(
        symbol="KRYP", epoch=3, sequence=9, time=1_000, trade_id="KRYP-3-9", price=101, quantity=2,
        taker_side=journal.Side.BUY, maker_order_id="m", taker_order_id="t", maker_user_id="u1",
        taker_user_id="u2", maker_remaining=0, taker_remaining=1, buy_order_id="t", sell_order_id="m",
        buyer_id="u2", seller_id="u1", buyer_fee=1, seller_fee=0, buyer_hold_used=203)
    wire = orjson.loads(journal.encode(trade))
    assert wire["type"] == "trade" and wire["taker_side"] == "buy" and wire["price"] == 101
    assert journal.read_entries([(b"1-0", {b"sequence": b"9", b"event": journal.encode(trade)})]) == [(b"1-0", trade)]
    assert journal.orders_named(trade) == ("m", "t")


@given(st.lists(any_event, max_size=12))
def test_reading_only_trades_finds_every_trade_and_nothing_else(events):
    entries = [(f"{n}-0".encode(), {b"sequence": b"1", b"event": journal.encode(e)}) for n, e in enumerate(events)]
    assert journal.read_trades(entries) == [e for e in events if isinstance(e, journal.TradeEvent)]


@given(st.lists(any_event, max_size=12))
def test_reading_some_kinds_finds_every_event_of_them_and_nothing_else(events):
    entries = [(f"{n}-0".encode(), {b"sequence": b"1", b"event": journal.encode(e)}) for n, e in enumerate(events)]
    assert journal.read_kinds(entries, POSTING_KINDS) == [e for e in events if type(e) in POSTING_KINDS]


@given(st.one_of([events_of(cls) for cls in journal.JournalEvent.__args__ if cls not in POSTING_KINDS]))
def test_the_kinds_live_settlement_skips_post_nothing(event):
    """Live settlement builds only POSTING_KINDS: an event of any other kind must post nothing."""
    assert postings_for(event) == []


@given(st.lists(any_event, max_size=12))
def test_the_archive_reads_each_entry_as_its_events_document(events):
    entries = [(f"{n}-0".encode(), {b"sequence": b"1", b"event": journal.encode(e)}) for n, e in enumerate(events)]
    assert journal.read_documents(entries) == [(entry_id, journal.as_document(e))
                                               for (entry_id, _), e in zip(entries, events)]


@pytest.mark.parametrize("document, why", [
    ({"type": "teleported", "sequence": 1}, "not a journal event kind"),
    ({"symbol": "KRYP", "sequence": 1}, "not a journal event kind"),
    ({"type": "resumed", "symbol": "KRYP", "epoch": 1, "sequence": 1, "time": 0}, "without a valid"),
    ({"type": "resumed", "symbol": "KRYP", "epoch": 1, "sequence": 1, "time": 0, "reason": "bored"},
     "without a valid"),
    ({"type": "done", "symbol": "KRYP", "epoch": 1, "sequence": 1, "time": 0, "order_id": "o", "user_id": "u",
      "side": "up", "status": "filled", "reason": "filled", "remaining": 0, "released": 0}, "without a valid"),
])
def test_what_is_not_a_journal_event_is_refused_by_name(document, why):
    with pytest.raises(journal.JournalDecodeError, match=why):
        journal.from_document(document)
    # The readers that build few events or none refuse it too, whatever kinds they build.
    entries = [(b"1-0", {b"sequence": b"1", b"event": orjson.dumps(document)})]
    for read in (journal.read_documents, lambda e: journal.read_kinds(e, frozenset()),
                 lambda e: journal.read_kinds(e, POSTING_KINDS)):
        with pytest.raises(journal.JournalDecodeError, match="not a whole journal event"):
            read(entries)


def test_the_readers_that_build_nothing_refuse_what_is_not_an_object():
    for read in (journal.read_documents, lambda e: journal.read_kinds(e, frozenset())):
        with pytest.raises(journal.JournalDecodeError, match="not a whole journal event"):
            read([(b"1-0", {b"sequence": b"1", b"event": b"[1, 2]"})])


def _wire_reads(source: str, name: str) -> list[str]:
    """Places in one module that read the journal's wire form instead of its classes: the
    stream field holding the JSON, bytes searched for a kind, or a kind compared as a string."""
    kinds = {kind.value for kind in journal.EventKind}
    found = []
    for node in ast.walk(ast.parse(source, name)):
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes) and (
                node.value == b"event" or b'"type"' in node.value):
            found.append(f"{where} reads {node.value!r}")
        if isinstance(node, ast.Compare):
            strings = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
            subscripts_type = any(isinstance(s, ast.Subscript) and isinstance(s.slice, ast.Constant)
                                  and s.slice.value == "type" for s in ast.walk(node))
            if subscripts_type and kinds & set(strings):
                found.append(f"{where} compares an event's kind as a string")
    return found


def test_only_the_journal_module_reads_the_wire_form():
    modules = [path for folder in PRODUCT for path in (ROOT / folder).rglob("*.py")
               if path != ROOT / "exchange" / "journal.py"]
    assert len(modules) > 50
    found = [problem for path in modules for problem in _wire_reads(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == []


def test_the_wire_check_finds_what_it_looks_for():
    sniffer = ('def f(fields, event):\n    raw = fields[b"event"]\n    return event["type"] == "trade"\n'
               'def g(fields):\n    return b\'"type":"trade"\' in fields[b"other"]\n')
    assert len(_wire_reads(sniffer, "sniffer.py")) == 3
