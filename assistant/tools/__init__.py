"""Tools: function calling and MCP servers, without Qt.

- formats/: each model family's tool-call format (how calls are written, read back while
  the answer streams, and held to the tools' schemas by a lazy grammar);
- mcp/: MCP servers (mcp.json, stdio and Streamable HTTP), each in its own process;
- the registry, the approval policy and the tool loop that the window, the CLI and the
  server call.
"""
