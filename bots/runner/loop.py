"""Bot runner: ``python -m bots.runner``.

Every BOT_RUNNER_INTERVAL_MS: load the active bots (MongoDB), read the quotes
their current steps need and their owners' holdings (Redis), and for each bot:
  waiting: if its step's $when holds, claim it (waiting -> fired, compare-and-set);
  fired:   place its step's actions one by one through the REST API as its owner
           (a token minted for the owner), each counted against the bot's
           per-minute cap and recorded as its last action; then wait on the next
           step, or finish.
The API's holds refuse what the owner cannot pay for: a refused action
(insufficient_funds, no_liquidity, ...) puts the bot in ``error`` for good; a
throttled, busy or unreachable API leaves it fired, to retry the same action
(same client_order_id) next pass. Any number of replicas may run: the
compare-and-set claims of ``bots.store`` keep a step from firing twice.
Stops cleanly on SIGTERM or Ctrl-C.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid

import redis

from bots.rules import MarketView, Rule, RuleError, evaluate, market_symbols, parse_rule, reads_holdings
from bots.runner import market
from bots.runner.actions import describe, execute, is_transient
from bots.runner.budget import ActionBudget
from bots.store import WAITING, BotStore, client_order_id, now_ms, stored_rule
from exchange import mongo, redis_client
from exchange.config import Settings
from exchange.metrics import BOT_ACTIONS
from exchange.tokens import Tokens
from exchange.worker import Loop, Worker, run
from exchange_client import ApiError, ExchangeClient
from ledger.accounts import Accounts

log = logging.getLogger("bots.runner")
STALE_CLAIM_MS = 30_000  # a fired bot whose runner wrote nothing for this long is taken over
IDLE_INTERVAL_S = 1.0    # with no active bots, look less often (each look is a MongoDB query)


class OwnerClients:
    """One API client per bot owner, signed in with a token minted for them (renewed at half its life)."""

    def __init__(self, settings: Settings, client: redis.Redis, api_url: str):
        self.tokens = Tokens(settings, client)
        self.api_url = api_url
        self.renew_s = settings.token_ttl_s / 2
        self._clients: dict[str, tuple[ExchangeClient, float]] = {}

    def for_owner(self, owner_id: str) -> ExchangeClient:
        cached = self._clients.get(owner_id)
        if cached is None or time.monotonic() > cached[1]:
            api = ExchangeClient(self.api_url, token=self.tokens.issue(owner_id))
            api.user_id = owner_id
            cached = self._clients[owner_id] = (api, time.monotonic() + self.renew_s)
        return cached[0]

    def keep_only(self, owners: set[str]) -> None:
        for owner_id in set(self._clients) - owners:
            self._clients.pop(owner_id)[0].session.close()


class Runner:
    def __init__(self, settings: Settings, client: redis.Redis, store: BotStore, api_url: str,
                 stopping: threading.Event | None = None):
        self.settings = settings
        self.client = client
        self.store = store
        self.accounts = Accounts(client)
        self.owners = OwnerClients(settings, client, api_url)
        self.budget = ActionBudget(client, settings.bot_actions_per_minute)
        self.rules: dict[str, Rule] = {}
        self.claims: dict[str, str] = {}  # bot id -> this runner's claim on it while fired
        self.active_bots = 0
        self.stopping = stopping or threading.Event()  # set: finish the bot at hand, start no other

    def pause(self) -> float:
        """How long to wait between passes: each pass costs a MongoDB query, so longer with no active bot."""
        interval_s = self.settings.bot_runner_interval_ms / 1000
        return interval_s if self.active_bots else max(interval_s, IDLE_INTERVAL_S)

    # ---- one pass ----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Advance every active bot once; returns how many actions were taken."""
        bots = [(doc, rule) for doc in self.store.active() if (rule := self.compiled(doc)) is not None]
        self.active_bots = len(bots)
        self.forget_all_but({doc["_id"] for doc, _rule in bots}, {doc["owner_id"] for doc, _rule in bots})
        steps = [(doc, rule.steps()[doc["step"]]) for doc, rule in bots]
        quotes = market.quotes(self.client, set().union(*(market_symbols(step) for _doc, step in steps)))
        taken = 0
        for doc, step in steps:
            if self.stopping.is_set():
                break
            view = MarketView(quotes=quotes)
            if doc["status"] == WAITING and reads_holdings(step):
                cash, positions = market.holdings(self.accounts, doc["owner_id"])
                view = MarketView(quotes=quotes, positions=positions, cash=cash)
            taken += self.advance(doc, step, view, last_step=step.then is None)
        return taken

    def compiled(self, doc: dict) -> Rule | None:
        """The bot's rule, compiled once; a stored rule that no longer compiles (a symbol delisted) fails the bot."""
        rule = self.rules.get(doc["_id"])
        if rule is None:
            try:
                rule = self.rules[doc["_id"]] = parse_rule(stored_rule(doc), self.settings.symbols)
            except RuleError as error:
                self.store.fail(doc["_id"], doc["step"], doc.get("claim"),
                                {"step": doc["step"], "at": now_ms(),
                                 "error": {"code": error.code, "message": str(error)}})
                return None
        return rule

    def forget_all_but(self, bot_ids: set[str], owners: set[str]) -> None:
        for bot_id in set(self.rules) - bot_ids:
            del self.rules[bot_id]
        for bot_id in set(self.claims) - bot_ids:
            del self.claims[bot_id]
        self.owners.keep_only(owners)

    # ---- one bot -----------------------------------------------------------------------------

    def advance(self, doc: dict, step: Rule, view: MarketView, last_step: bool) -> int:
        bot_id = doc["_id"]
        if doc["status"] == WAITING:
            if not evaluate(step, view):
                return 0
            claim = uuid.uuid4().hex
            if not self.store.fire(doc, claim):
                return 0
            log.info("bot %s step %d fired", bot_id, doc["step"])
            start = 0
        else:
            claim = self.claims.get(bot_id)
            if claim != doc["claim"]:
                if now_ms() - doc["updated"] < STALE_CLAIM_MS:
                    return 0  # another runner is acting on it
                claim = uuid.uuid4().hex
                if not self.store.take_over(doc, claim):
                    return 0
                log.warning("bot %s: took over step %d from a quiet runner", bot_id, doc["step"])
            start = doc["action_index"]
        self.claims[bot_id] = claim
        return self.act(doc, step, claim, start, last_step)

    def act(self, doc: dict, step: Rule, claim: str, start: int, last_step: bool) -> int:
        bot_id, number = doc["_id"], doc["step"]
        api = self.owners.for_owner(doc["owner_id"])
        taken = 0
        for index in range(start, len(step.do)):
            if not self.budget.take(bot_id):
                log.info("bot %s: at its cap of %d actions a minute; resuming later", bot_id,
                         self.settings.bot_actions_per_minute)
                return taken
            action = step.do[index]
            record = {"step": number, "index": index, "action": describe(action), "at": now_ms()}
            try:
                record["result"] = execute(api, action, client_order_id(bot_id, number, index))
            except ApiError as error:
                record["error"] = {"status": error.status, "code": error.code, "message": error.message}
                if is_transient(error):
                    BOT_ACTIONS.labels("retry").inc()
                    log.warning("bot %s step %d action %d: %s; retrying next pass", bot_id, number, index, error)
                    return taken
                BOT_ACTIONS.labels("refused").inc()
                log.info("bot %s step %d action %d refused: %s", bot_id, number, index, error)
                self.store.fail(bot_id, number, claim, record)
                self.claims.pop(bot_id, None)
                return taken
            taken += 1
            BOT_ACTIONS.labels("done").inc()
            if not self.store.acted(bot_id, number, index, claim, record):
                self.claims.pop(bot_id, None)  # stopped by its owner, or claimed by another runner
                return taken
        self.store.advance(bot_id, number, claim, last_step)
        self.claims.pop(bot_id, None)
        return taken



class RunnerWorker(Worker):
    name = "bots.runner"

    def bootstrap(self) -> None:
        settings = Settings.from_env()
        db = mongo.database(settings.mongo_url, settings.mongo_db)
        mongo.ensure_indexes(db)
        self.runner = Runner(settings, redis_client.connect(settings),
                             BotStore(db, settings.bot_max_active),
                             settings.api_url or f"http://127.0.0.1:{settings.exchange_port}", self.stopping)
        log.info("running rule bots against %s", self.runner.owners.api_url)

    def loops(self) -> dict[str, Loop]:
        # A store outage must not end the runner (its supervisor would only restart it): retried.
        return {"rules": Loop(self.runner.run_once, every_s=self.runner.pause, retry_on=(Exception,))}


def main() -> None:
    run(RunnerWorker())
