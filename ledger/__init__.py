"""Accounts, holds and settlement."""
