"""Tools: function calling and MCP servers, without Qt.

- formats/: each model family's tool-call format (how calls are written, read back while
  the answer streams, and held to the tools' schemas by a lazy grammar);
- mcp_config.py, mcp_client.py (+ mcp_results.py, mcp_sandbox.py): MCP servers (mcp.json,
  stdio and Streamable HTTP), each stdio server in its own process;
- registry.py and approval.py: the tools a chat may call and the approval policy that the
  window, the CLI and the server share.
"""
