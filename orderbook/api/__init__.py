"""Thin Flask blueprints: parse, call the library, shape the response; each route documented
beside it (orderbook/api/spec.py)."""
from orderbook.api import account, api_keys, bots, leaderboard, market, orders, users

BLUEPRINTS = (users.bp, api_keys.bp, orders.bp, account.bp, market.bp, bots.bp, leaderboard.bp)
