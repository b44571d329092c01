"""healthimaging-mcp: an MCP server for AWS HealthImaging, with a compatible local service."""

__version__ = "0.1.0"
