"""MCP Apps (the `io.modelcontextprotocol/ui` extension): the series viewer's HTML and who sees app-only tools."""
