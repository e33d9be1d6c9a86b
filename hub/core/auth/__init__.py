"""Users, sign-in, server-side sessions, CSRF, API tokens and role gates."""
