"""Batched ingest of check-in samples and liveness updates, and retention of old samples."""
