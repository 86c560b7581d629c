"""Market maker: two-sided quotes around a reference price, leaning against its inventory.

Each round is one refresh: cancel the old quotes (counting what filled), read the
book without them, and quote ``levels`` bids and asks around the reference
(book mid, else last trade, else the configured fair value), all in one
request (POST /orders/batch). Its inventory is
the shares it bought minus those it sold since it started. Long, it shifts
both sides down by ``skew_ticks_per_share`` per share, so its bid is less
likely and its ask more likely to trade; short, up. The bids it rests never
add up to more than it may still buy before ``max_position``, and the asks to
more than it may still sell before ``-max_position``: even if every quote is
hit before the next refresh, the inventory stays within the limit, and at the
limit it quotes only the side that reduces it.
"""
from __future__ import annotations

from dataclasses import dataclass

from bots.strategies.base import Strategy, StrategyConfig


@dataclass
class MarketMakerConfig(StrategyConfig):
    interval_s: float = 2.0  # the refresh interval: quotes are replaced once per round
    fair_value: int = 10_000  # ticks ($100.00): the reference when the market has neither book nor trades
    spread_ticks: int = 20  # best ask - best bid
    levels: int = 3
    level_spacing_ticks: int = 5
    order_size: int = 5
    skew_ticks_per_share: int = 1
    max_position: int = 50
    max_reference_spread_bps: int = 500  # a wider book is no reference: use the last trade instead


class MarketMaker(Strategy):
    kind = "market_maker"
    config: MarketMakerConfig

    def decide(self) -> None:
        self.cancel_working()
        reference = self.reference_price(self.config.fair_value, self.config.max_reference_spread_bps)
        self.place_all([(side, quantity, price) for side, price, quantity in self.quotes(reference)], post_only=True)

    def quotes(self, reference: int) -> list[tuple[str, int, int]]:
        """(side, price ticks, quantity) for every quote to rest around ``reference``, best first per side."""
        cfg = self.config
        center = reference - cfg.skew_ticks_per_share * self.position
        best_bid = center - cfg.spread_ticks // 2
        best_ask = best_bid + cfg.spread_ticks
        room = {side: self.room(side, cfg.max_position) for side in ("buy", "sell")}
        quotes = []
        for level in range(cfg.levels):
            offset = level * cfg.level_spacing_ticks
            for side, price in (("buy", best_bid - offset), ("sell", best_ask + offset)):
                quantity = min(cfg.order_size, room[side])
                if quantity > 0 and price > 0:
                    quotes.append((side, price, quantity))
                    room[side] -= quantity
        return quotes
