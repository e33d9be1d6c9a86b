"""Automation: alert rules that open tickets, notify and remediate, each step a gate invocation
with caller ``automation`` on behalf of the rule's owner (policy, approvals and audit unchanged)."""
