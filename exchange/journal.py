"""The journal's contract: one frozen dataclass per kind of event, their encoding, and the order record.

A symbol's journal is the Redis stream ``ob:{SYM}:events``. The matcher appends
each entry in its commit script as ``{sequence, event}``, where ``event`` is the
JSON of one of the dataclasses below. A journal event is a book event
(``orderbook.model``) as committed: stamped with its symbol, epoch, gap-free
sequence and time (epoch ms), and carrying what settlement needs without any
other state (fees, the holds it releases).

Writers build these classes and call ``encode``. Readers call ``read_entries``
(stream entries), ``decode`` (one JSON value) or ``from_document`` (an archived
event from MongoDB), then branch on the class. The JSON keeps the kind under
``type``; nothing outside this module reads that key.

The order record (``OrderRecord``) is an order's stored state: in
``ob:{SYM}:orders`` while live, in MongoDB ``orders`` after.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum, StrEnum
from typing import Any, TypedDict

import orjson

# The order's vocabulary (exchange/orders.py): readers import it from here too.
from exchange.orders import OrderType, SelfTrade, Side, Status, TimeInForce  # noqa: F401


class DoneReason(StrEnum):
    """Why an order left the book, or never entered it (a ``DoneEvent``'s ``reason``)."""

    FILLED = "filled"
    CANCELED = "canceled"  # its owner canceled it
    SELF_TRADE = "self_trade"  # its own self-trade rule, or the taker's, canceled it
    MARKET_REMAINDER = "market_remainder"  # what a market order could not take
    IOC_REMAINDER = "ioc_remainder"  # what an IOC limit order could not take
    FOK_NOT_FILLABLE = "fok_not_fillable"
    POST_ONLY_WOULD_TAKE = "post_only_would_take"
    SYMBOL_HALTED = "symbol_halted"
    TOO_MANY_OPEN_ORDERS = "too_many_open_orders"
    PRICE_OUT_OF_BAND = "price_out_of_band"
    STOP_WOULD_TRIGGER = "stop_would_trigger"  # the last trade is already at or through its stop price


class RejectReason(StrEnum):
    """Why the matcher refused a command (a ``CommandRejectedEvent``'s ``code``)."""

    INVALID_COMMAND = "invalid_command"  # an inbox entry it could not read
    ORDER_VOIDED = "order_voided"  # the order's hold was voided before it arrived
    ORDER_EXPIRED = "order_expired"  # the order arrived over a day after its id was made
    INVALID_AMEND = "invalid_amend"
    NOT_OPEN = "not_open"  # a cancel or amend of an order that is not on the book
    NOT_FOUND = "not_found"  # ... of another user's order


class HaltReason(StrEnum):
    CIRCUIT_BREAKER = "circuit_breaker"
    OPERATOR = "operator"


class ResumeReason(StrEnum):
    HALT_ENDED = "halt_ended"
    OPERATOR = "operator"


class EventKind(StrEnum):
    ACCEPTED = "accepted"
    TRADE = "trade"
    RESTED = "rested"
    PARKED = "parked"
    TRIGGERED = "triggered"
    AMENDED = "amended"
    DONE = "done"
    COMMAND_REJECTED = "command_rejected"
    VOIDED = "voided"
    HALTED = "halted"
    RESUMED = "resumed"


# ---- the order record -----------------------------------------------------------------------


class OrderRecord(TypedDict):
    """An order's stored state, as JSON: enums are their values, prices ticks, money cents."""

    order_id: str
    client_order_id: str | None
    user_id: str
    symbol: str
    side: str  # Side
    type: str  # OrderType
    price: int | None  # limit price; None for a market or stop order
    protection_price: int | None  # a market or stop order's collar, as its hold was sized
    stop_price: int | None  # a stop order's trigger; None for other orders
    quantity: int
    filled_quantity: int
    remaining_quantity: int
    status: str  # Status
    reason: str | None  # DoneReason, or RejectReason.ORDER_VOIDED; None while open
    time_in_force: str  # TimeInForce
    post_only: bool
    self_trade: str  # SelfTrade
    created_ms: int
    updated_ms: int
    priority: int  # the sequence of its accepted event, or of a stop's triggered event once it triggers
    maker_fee_bps: int
    taker_fee_bps: int
    hold: int  # what entry placed on hold for it: cents for a buy, shares for a sell
    fees: int  # cents paid so far


class _OrderTerms(TypedDict):
    side: str
    type: str
    price: int | None
    protection_price: int | None
    stop_price: int | None
    quantity: int
    time_in_force: str
    post_only: bool
    self_trade: str
    client_order_id: str | None
    maker_fee_bps: int
    taker_fee_bps: int
    hold: int


class OrderTerms(_OrderTerms, total=False):
    """What an accepted event says of its order: the terms fixed at entry."""

    book_protection_price: int  # present when the price band pulled a market order's collar in


TERMS = tuple(_OrderTerms.__annotations__)


def order_terms(record: OrderRecord) -> OrderTerms:
    return {name: record[name] for name in TERMS}  # type: ignore[literal-required,return-value]


# ---- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Stamped:
    symbol: str
    epoch: int
    sequence: int
    time: int  # epoch ms of the batch that committed it


@dataclass(frozen=True, slots=True, kw_only=True)
class _OrderEvent(_Stamped):
    """An event about one order of one user."""

    order_id: str
    user_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptedEvent(_OrderEvent):
    """An order reached the book (its sequence is its time priority)."""

    type: EventKind = field(default=EventKind.ACCEPTED, init=False)
    side: Side
    quantity: int
    price: int | None
    order: OrderTerms


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeEvent(_Stamped):
    """A taker met a resting order at the resting order's price."""

    type: EventKind = field(default=EventKind.TRADE, init=False)
    trade_id: str  # SYM-epoch-sequence
    price: int
    quantity: int
    taker_side: Side
    maker_order_id: str
    taker_order_id: str
    maker_user_id: str
    taker_user_id: str
    maker_remaining: int
    taker_remaining: int
    buy_order_id: str
    sell_order_id: str
    buyer_id: str
    seller_id: str
    buyer_fee: int
    seller_fee: int
    buyer_hold_used: int  # what the buyer's cash hold shrinks by (price improvement included)


@dataclass(frozen=True, slots=True, kw_only=True)
class RestedEvent(_OrderEvent):
    type: EventKind = field(default=EventKind.RESTED, init=False)
    side: Side
    price: int
    remaining: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ParkedEvent(_OrderEvent):
    """A stop order waits, off the book, for a trade at or through its stop price (status untriggered)."""

    type: EventKind = field(default=EventKind.PARKED, init=False)
    side: Side
    stop_price: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggeredEvent(_OrderEvent):
    """A trade crossed a parked stop's price: the order enters the book now, as a market order
    (``stop``) or a limit order (``stop_limit``), with this event's sequence as its priority.
    The events of its entry (trades, rested or done) follow it."""

    type: EventKind = field(default=EventKind.TRIGGERED, init=False)
    side: Side
    stop_price: int
    trade_price: int  # the last trade's price when it triggered
    book_protection_price: int | None  # the collar the band pulled a stop's in to (None: as held)


@dataclass(frozen=True, slots=True, kw_only=True)
class AmendedEvent(_OrderEvent):
    """A resting or parked order's quantity was cut; it keeps its priority."""

    type: EventKind = field(default=EventKind.AMENDED, init=False)
    side: Side
    quantity: int
    remaining: int
    released: int  # hold freed by the cut


@dataclass(frozen=True, slots=True, kw_only=True)
class DoneEvent(_OrderEvent):
    """An order is done: filled, canceled or rejected. ``remaining`` will never trade."""

    type: EventKind = field(default=EventKind.DONE, init=False)
    side: Side
    status: Status
    reason: DoneReason
    remaining: int
    released: int  # what is left of its hold, back to available


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRejectedEvent(_OrderEvent):
    type: EventKind = field(default=EventKind.COMMAND_REJECTED, init=False)
    code: RejectReason


@dataclass(frozen=True, slots=True, kw_only=True)
class VoidedEvent(_OrderEvent):
    """An order id the book will never accept; its whole hold goes back to available."""

    type: EventKind = field(default=EventKind.VOIDED, init=False)
    asset: str  # what the hold is in: 'cash' or a symbol


@dataclass(frozen=True, slots=True, kw_only=True)
class HaltedEvent(_Stamped):
    type: EventKind = field(default=EventKind.HALTED, init=False)
    until_ms: int | None  # None: until an operator resumes it
    reason: HaltReason


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumedEvent(_Stamped):
    type: EventKind = field(default=EventKind.RESUMED, init=False)
    reason: ResumeReason


JournalEvent = (AcceptedEvent | TradeEvent | RestedEvent | ParkedEvent | TriggeredEvent | AmendedEvent | DoneEvent
                | CommandRejectedEvent | VoidedEvent | HaltedEvent | ResumedEvent)

_CLASSES: dict[str, type] = {
    EventKind.ACCEPTED: AcceptedEvent, EventKind.TRADE: TradeEvent, EventKind.RESTED: RestedEvent,
    EventKind.PARKED: ParkedEvent, EventKind.TRIGGERED: TriggeredEvent,
    EventKind.AMENDED: AmendedEvent, EventKind.DONE: DoneEvent, EventKind.COMMAND_REJECTED: CommandRejectedEvent,
    EventKind.VOIDED: VoidedEvent, EventKind.HALTED: HaltedEvent, EventKind.RESUMED: ResumedEvent,
}
# The fields each class is built from, and the enum each enum-typed field takes.
_ENUMS = {"side": Side, "taker_side": Side, "status": Status, "code": RejectReason}
_REASONS = {DoneEvent: DoneReason, HaltedEvent: HaltReason, ResumedEvent: ResumeReason}
_FIELDS = {cls: tuple(f.name for f in fields(cls) if f.init) for cls in _CLASSES.values()}


class JournalDecodeError(ValueError):
    """A journal value that is not one of the kinds above, or lacks a field its kind has."""


# ---- encoding ---------------------------------------------------------------------------------


def encode(event: JournalEvent) -> bytes:
    """The JSON the journal keeps (enums as their values)."""
    return orjson.dumps(event)


def as_document(event: JournalEvent) -> dict[str, Any]:
    """The event as a plain dict, for a MongoDB document or a CSV row."""
    return {f.name: _plain(getattr(event, f.name)) for f in fields(event)}


def _plain(value):
    return value.value if isinstance(value, Enum) else value


def decode(raw: bytes | str) -> JournalEvent:
    return from_document(orjson.loads(raw))


def from_document(data: dict[str, Any]) -> JournalEvent:
    """One event from its JSON object or archived document (extra keys, such as ``_id``, are ignored)."""
    cls = _CLASSES.get(data.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise JournalDecodeError(f"not a journal event kind: {data.get('type')!r}")
    try:
        values = {name: data[name] for name in _FIELDS[cls]}
        for name, enum in _ENUMS.items():
            if name in values:
                values[name] = enum(values[name])
        if cls in _REASONS:
            values["reason"] = _REASONS[cls](values["reason"])
    except (KeyError, ValueError) as missing:
        raise JournalDecodeError(f"{data.get('type')} event without a valid {missing}") from None
    return cls(**values)


def decode_entry(entry: dict[bytes, bytes]) -> JournalEvent:
    """One stream entry's event ({b"sequence", b"event"}, as XRANGE or XREADGROUP give it)."""
    return decode(entry[b"event"])


def read_entries(entries) -> list[tuple[bytes, JournalEvent]]:
    """Stream entries ([(entry_id, {b"sequence", b"event"})], as XRANGE or XREADGROUP give them)."""
    return [(entry_id, decode_entry(entry)) for entry_id, entry in entries]


# The keys the JSON of each kind has: every field, its kind (`type`) included.
_DOCUMENT_KEYS = {cls: frozenset(f.name for f in fields(cls)) for cls in _CLASSES.values()}
_ENUM_VALUES = {enum: frozenset(member.value for member in enum)
                for enum in (*_ENUMS.values(), *_REASONS.values())}


def _whole_document(raw: bytes) -> tuple[type, dict[str, Any]]:
    """(its class, its JSON object) for a journal value that ``decode`` would accept: a known kind
    with every field of that kind and valid enum values; else JournalDecodeError. Nothing is built."""
    document = orjson.loads(raw)
    cls = _CLASSES.get(document.get("type")) if isinstance(document, dict) else None  # type: ignore[arg-type]
    whole = cls is not None and _DOCUMENT_KEYS[cls] <= document.keys() and all(
        document[name] in _ENUM_VALUES[enum] for name, enum in _ENUMS.items() if name in document)
    if not whole or (cls in _REASONS and document["reason"] not in _ENUM_VALUES[_REASONS[cls]]):
        raise JournalDecodeError(f"not a whole journal event: {raw[:200]!r}")
    return cls, document  # type: ignore[return-value]


def read_documents(entries) -> list[tuple[bytes, dict[str, Any]]]:
    """Stream entries as the archive keeps them: each event's JSON object as the stream holds it,
    which is ``as_document`` of its decoded event, without building the event (the archive copies
    every event and needs none of their classes). What ``decode`` refuses raises JournalDecodeError."""
    return [(entry_id, _whole_document(entry[b"event"])[1]) for entry_id, entry in entries]


def read_kinds(entries, kinds: frozenset[type]) -> list[JournalEvent]:
    """The events of the classes ``kinds`` among stream entries, in order, for a reader that does
    nothing with the others (live settlement with an accepted order, say): every value is checked as
    ``decode`` would check it, and only those of ``kinds`` are built."""
    events = []
    for _entry_id, entry in entries:
        cls, document = _whole_document(entry[b"event"])
        if cls in kinds:
            events.append(from_document(document))
    return events


# ``encode`` writes a dataclass's fields in order, so a trade's JSON holds its kind verbatim.
_TRADE_KIND = b'"type":"trade"'


def read_trades(entries) -> list[TradeEvent]:
    """Only the trades among stream entries: the other kinds are not decoded, since a reader of
    trades alone (the ticker, the chaos checks) would spend most of its time on them."""
    candidates = (decode(entry[b"event"]) for _entry_id, entry in entries if _TRADE_KIND in entry[b"event"])
    return [event for event in candidates if isinstance(event, TradeEvent)]


def orders_named(event: JournalEvent) -> tuple[str, ...]:
    """The order ids an event is about (a trade names two; a halt none)."""
    if isinstance(event, TradeEvent):
        return event.maker_order_id, event.taker_order_id
    return (event.order_id,) if isinstance(event, _OrderEvent) else ()


def entry_sequence(entry: dict[bytes, bytes]) -> int:
    """A stream entry's sequence, read without decoding its event."""
    return int(entry[b"sequence"])
