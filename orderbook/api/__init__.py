"""Thin Flask blueprints: parse, call the library, shape the response."""
