"""A Python client for the exchange: its REST API (``ExchangeClient``) and its live Socket.IO
stream (``MarketStream``). It speaks only the public API; nothing of the server is imported."""
from .client import ApiError, ExchangeClient, signed_headers
from .money import from_cents, to_cents
from .stream import MarketStream

__all__ = ["ApiError", "ExchangeClient", "MarketStream", "from_cents", "signed_headers", "to_cents"]
