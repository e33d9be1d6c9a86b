"""Policies, approvals and the one pipeline every tool invocation goes through."""
