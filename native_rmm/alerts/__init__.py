"""Metric thresholds and the alert queue of the native RMM."""
