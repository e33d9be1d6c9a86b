"""Foundation shared by every domain: settings, database, auth, tool registry, events, audit."""
