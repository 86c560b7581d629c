"""Trading strategies: each a small class whose ``play_round()`` is one decision round."""
from bots.strategies.base import Strategy, StrategyConfig
from bots.strategies.market_maker import MarketMaker, MarketMakerConfig
from bots.strategies.mean_reversion import MeanReversionConfig, MeanReversionTrader
from bots.strategies.momentum import MomentumConfig, MomentumTrader
from bots.strategies.pairs import PairsConfig, PairsTrader
from bots.strategies.random_walk import RandomWalkConfig, RandomWalkTrader

# The kinds of trader `--traders M` spreads its M bots over, in turn.
TRADER_KINDS = (
    (RandomWalkTrader, RandomWalkConfig),
    (MomentumTrader, MomentumConfig),
    (MeanReversionTrader, MeanReversionConfig),
)

__all__ = ["Strategy", "StrategyConfig", "MarketMaker", "MarketMakerConfig", "RandomWalkTrader",
           "RandomWalkConfig", "MomentumTrader", "MomentumConfig", "MeanReversionTrader", "MeanReversionConfig",
           "PairsTrader", "PairsConfig", "TRADER_KINDS"]
