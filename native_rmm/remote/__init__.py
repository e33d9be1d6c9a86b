"""Remote sessions (shell, screen) on native agents, bridged through a relay node."""
