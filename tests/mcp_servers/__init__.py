"""MCP servers for the tests, written with the official SDK's server class (`MCPServer`)."""
