"""Order entry REST API and the matching engine."""
