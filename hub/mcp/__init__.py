"""The MCP server of the hub: the gated tools for any AI client (streamable HTTP at ``/mcp``, stdio proxy, OAuth)."""
