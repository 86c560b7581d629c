"""Shared code of the exchange: config, money, Redis keys and Lua, Mongo collections."""
