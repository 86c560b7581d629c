"""Bots that trade through the public REST API: a client library, strategies, a swarm runner."""
