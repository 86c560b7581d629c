"""The rule-bot runner: ``python -m bots.runner`` (see loop.py)."""
