"""The built-in offline model: intent and entity resolution over the registry and the hub data."""
