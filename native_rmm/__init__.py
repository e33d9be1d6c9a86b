"""The native RMM: devices, enrollment, the agent API, metrics ingest, the command queue and their tools."""
