"""Remote sessions on the endpoint: dial the relay and bridge a PTY shell, the local VNC server or files."""
