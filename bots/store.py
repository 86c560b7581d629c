"""Rule bots stored durably in MongoDB (collection ``bots``), and every change of their state.

A bot is its owner, its rule (the JSON as posted) and where it is in the rule's
chain: ``step`` (0 = the first rule), ``status`` and ``last_action``.

    waiting --(its step's $when holds; a runner claims it)--> fired
    fired   --(each action of $do placed, one by one)--> waiting at step + 1, or done after the last step
    fired   --(the exchange refuses an action: insufficient_funds, no_liquidity, ...)--> error
    waiting | fired --(DELETE by its owner)--> stopped

Every transition is one compare-and-set ``update_one`` whose filter names the
state it starts from (and, once fired, the runner's ``claim``), so two runners
can never both fire a step, and a bot stopped by its owner never acts again: the
runner's next write finds it no longer in the state it expected. A runner that
died while a bot was fired leaves the claim to go stale; another runner takes
it over and resumes at ``action_index``. Orders carry a client_order_id made
of the bot, step and action, so placing one again returns the same order.

A user may have at most ``max_active`` active (waiting or fired) bots, however
many creations race: ``BotSlots``.
"""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from decimal import Decimal

from bson.decimal128 import Decimal128
from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from exchange import mongo
from exchange.paging import BadCursor, decode_cursor, encode_cursor

WAITING, FIRED, DONE, STOPPED, ERROR = "waiting", "fired", "done", "stopped", "error"
ACTIVE = (WAITING, FIRED)
MAX_NAME = 64
BOT_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex
ORPHAN_SLOT_MS = 60_000  # far longer than a creation's two inserts take


class TooManyBots(Exception):
    pass


def now_ms() -> int:
    return int(time.time() * 1000)


def _convert(document: object, kind: type, to) -> object:
    if isinstance(document, dict):
        return {key: _convert(value, kind, to) for key, value in document.items()}
    if isinstance(document, list):
        return [_convert(value, kind, to) for value in document]
    return to(document) if isinstance(document, kind) else document


def storable(rule: object) -> object:
    """The rule as posted, its decimal numbers stored exactly as BSON Decimal128 (never as doubles)."""
    return _convert(rule, Decimal, Decimal128)


def stored_rule(doc: dict) -> object:
    """A stored rule with its decimal numbers back as ``Decimal`` (for ``parse_rule``)."""
    return _convert(doc["rule"], Decimal128, Decimal128.to_decimal)


def shown_rule(doc: dict) -> object:
    """A stored rule as the API shows it: decimal numbers as decimal strings with the
    digits they were posted with (``0.30`` -> ``"0.30"``), like every price the API speaks."""
    return _convert(doc["rule"], Decimal128, lambda number: decimal_text(number.to_decimal()))


def decimal_text(number: Decimal) -> str:
    """Plain positional notation, never exponent form (``1E+2`` -> ``"100"``), so a
    rule read back can be posted again; trailing zeros as posted are kept."""
    if number.is_zero():
        return "0"
    text = str(number)
    return format(number, "f") if "E" in text else text


def view(doc: dict) -> dict:
    """A stored bot as the API shows it."""
    return {"bot_id": doc["_id"], "name": doc["name"], "status": doc["status"], "step": doc["step"],
            "steps": doc["steps"], "rule": shown_rule(doc), "last_action": doc.get("last_action"),
            "actions_taken": doc.get("actions_taken", 0), "created": doc["created"], "updated": doc["updated"]}


def _cursor(doc: dict) -> str:
    """Opaque to clients: where a page ended, in the order pages are read (created, then _id)."""
    return encode_cursor((doc["created"], doc["_id"]))


def _position(cursor: str) -> tuple[int, str]:
    created, bot_id = decode_cursor(cursor, (int, str))
    if not BOT_ID.fullmatch(bot_id):
        raise BadCursor(cursor)
    return created, bot_id


def client_order_id(bot_id: str, step: int, index: int) -> str:
    """The same order id for the same action of the same step, so a retried placement is a no-op."""
    return f"bot.{bot_id}.{step}.{index}"


class BotStore:
    def __init__(self, db: Database, max_active: int = 20):
        self.bots = db[mongo.BOTS]
        self.max_active = max_active
        self.slots = BotSlots(db, max_active)

    # ---- the owner's side (the API) --------------------------------------------------------

    def create(self, owner_id: str, rule: dict, steps: int, name: str | None = None) -> dict:
        """Store a validated rule as a new waiting bot; TooManyBots past the per-user limit."""
        bot_id = uuid.uuid4().hex
        if not self.slots.take(owner_id, bot_id):
            raise TooManyBots(f"you already have {self.max_active} active bots; stop one first")
        created = now_ms()
        doc = {"_id": bot_id, "owner_id": owner_id, "name": name or f"bot-{bot_id[:8]}",
               "rule": storable(rule), "steps": steps, "status": WAITING, "step": 0, "action_index": 0,
               "claim": None, "last_action": None, "actions_taken": 0, "created": created, "updated": created}
        # If this insert fails the slot stays taken: the bot may exist all the same (a lost reply),
        # and if it does not, the slot is freed as an orphan.
        self.bots.insert_one(doc)
        return doc

    def page(self, owner_id: str, limit: int, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """Up to ``limit`` of an owner's bots, newest first, after ``cursor`` (a page's next_cursor),
        and the cursor of the page after them (None on the last page). BadCursor for a cursor
        this store did not make."""
        query: dict = {"owner_id": owner_id}
        if cursor is not None:
            created, bot_id = _position(cursor)
            query["$or"] = [{"created": {"$lt": created}}, {"created": created, "_id": {"$lt": bot_id}}]
        docs = list(self.bots.find(query).sort([("created", DESCENDING), ("_id", DESCENDING)]).limit(limit + 1))
        next_cursor = _cursor(docs[limit - 1]) if len(docs) > limit else None
        return docs[:limit], next_cursor

    def get(self, owner_id: str, bot_id: str) -> dict | None:
        return self.bots.find_one({"_id": bot_id, "owner_id": owner_id})

    def stop(self, owner_id: str, bot_id: str) -> dict | None:
        """Stop an owner's bot (a finished one stays as it is); None if there is no such bot of theirs."""
        self.bots.update_one({"_id": bot_id, "owner_id": owner_id, "status": {"$in": list(ACTIVE)}},
                             {"$set": {"status": STOPPED, "claim": None, "updated": now_ms()}})
        return self.get(owner_id, bot_id)

    # ---- the runner's side: compare-and-set transitions ------------------------------------

    def active(self) -> list[dict]:
        return list(self.bots.find({"status": {"$in": list(ACTIVE)}}))

    def fire(self, doc: dict, claim: str) -> bool:
        """waiting at doc's step -> fired, claimed by ``claim``; False if the bot moved meanwhile."""
        result = self.bots.update_one(
            {"_id": doc["_id"], "status": WAITING, "step": doc["step"]},
            {"$set": {"status": FIRED, "action_index": 0, "claim": claim, "updated": now_ms()}})
        return result.modified_count == 1

    def take_over(self, doc: dict, claim: str) -> bool:
        """Claim a fired bot whose runner went quiet (its claim is doc's, unchanged since)."""
        result = self.bots.update_one(
            {"_id": doc["_id"], "status": FIRED, "claim": doc["claim"], "updated": doc["updated"]},
            {"$set": {"claim": claim, "updated": now_ms()}})
        return result.modified_count == 1

    def acted(self, bot_id: str, step: int, index: int, claim: str, last_action: dict) -> bool:
        """Record action ``index`` of ``step`` as done; False if the bot was stopped or claimed away."""
        result = self.bots.update_one(
            {"_id": bot_id, "status": FIRED, "step": step, "action_index": index, "claim": claim},
            {"$set": {"action_index": index + 1, "last_action": last_action, "updated": now_ms()},
             "$inc": {"actions_taken": 1}})
        return result.modified_count == 1

    def advance(self, bot_id: str, step: int, claim: str, last_step: bool) -> bool:
        """Every action of ``step`` ran: wait on the next step, or finish."""
        done = {"status": DONE} if last_step else {"status": WAITING, "step": step + 1, "action_index": 0}
        result = self.bots.update_one(
            {"_id": bot_id, "status": FIRED, "step": step, "claim": claim},
            {"$set": {**done, "claim": None, "updated": now_ms()}})
        return result.modified_count == 1

    def fail(self, bot_id: str, step: int, claim: str | None, last_action: dict) -> bool:
        """The exchange refused an action (or the stored rule no longer compiles): the bot stops in error."""
        result = self.bots.update_one(
            {"_id": bot_id, "status": {"$in": list(ACTIVE)}, "step": step, "claim": claim},
            {"$set": {"status": ERROR, "claim": None, "last_action": last_action, "updated": now_ms()}})
        return result.modified_count == 1


class BotSlots:
    """The cap on a user's active bots, held however many creations race (collection ``bot_slots``).

    Each active bot holds one of its owner's ``max_active`` numbered slots, a document
    whose ``_id`` is ``owner:n``. Taking one is an insert and ``_id`` is unique, so at most
    ``max_active`` racing creations succeed, in any number of API processes; counting the
    active bots and then inserting one let every racer see the same count and all insert.
    Slots are freed lazily: when none is free, those whose bot has finished (done, stopped,
    error) are, each by a delete naming its bot, so no slot is freed twice; so is a slot
    whose bot never appeared (its creator died between the two inserts) once it is older
    than ORPHAN_SLOT_MS.
    """

    def __init__(self, db: Database, max_active: int):
        self.slots = db[mongo.BOT_SLOTS]
        self.bots = db[mongo.BOTS]
        self.max_active = max_active

    def take(self, owner_id: str, bot_id: str) -> bool:
        """Give ``bot_id`` one of its owner's slots; False if every one is held by an active bot."""
        held = list(self.slots.find({"owner_id": owner_id}))
        numbers = {slot["slot"] for slot in held}
        free = [n for n in range(self.max_active) if n not in numbers]
        return self._claim(owner_id, bot_id, free) or self._claim(owner_id, bot_id, self._free_finished(held))

    def _claim(self, owner_id: str, bot_id: str, numbers: Iterable[int]) -> bool:
        for number in numbers:
            slot_id = f"{owner_id}:{number}"
            try:
                self.slots.insert_one({"_id": slot_id, "owner_id": owner_id, "slot": number, "bot_id": bot_id,
                                       "taken": now_ms()})
            except DuplicateKeyError:
                continue  # another creation took it first
            return True
        return False

    def _free_finished(self, held: list[dict]) -> list[int]:
        """Free the held slots (under the cap) whose bot is no longer active; their numbers."""
        held = [slot for slot in held if slot["slot"] < self.max_active]
        statuses = {bot["_id"]: bot["status"] for bot in
                    self.bots.find({"_id": {"$in": [slot["bot_id"] for slot in held]}}, {"status": 1})}
        freed = []
        for slot in held:
            status = statuses.get(slot["bot_id"])
            finished = status is not None and status not in ACTIVE
            orphaned = status is None and now_ms() - slot["taken"] > ORPHAN_SLOT_MS
            if finished or orphaned:
                self.slots.delete_one({"_id": slot["_id"], "bot_id": slot["bot_id"]})
                freed.append(slot["slot"])
        return freed
