"""Public status pages: per customer, opt-in, an unguessable URL showing chosen monitors and devices."""
