"""Alembic migrations of the hub database (``rmmhub migrate``)."""
