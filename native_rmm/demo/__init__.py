"""Clearly flagged demo devices for trying the product without agents."""
