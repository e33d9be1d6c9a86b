"""Notification channels (email over SMTP, signed webhooks, Slack/Teams incoming webhooks) and their outbox.

Anything that wants to tell a person something (alert rules, approval routing) calls
:func:`hub.core.notify.outbox.enqueue` inside its own unit of work: the message is a row of the
outbox table, committed with the change that caused it, so nothing is lost when the hub restarts or
an endpoint fails. The delivery job (:mod:`hub.core.notify.delivery`) sends due rows with retries and
back-off, and folds a burst beyond a channel's per-minute budget into one digest.
"""
