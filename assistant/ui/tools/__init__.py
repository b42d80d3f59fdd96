"""The window's side of tools: the MCP servers (host.py), a chat's tools (picker.py),
Settings → Tools (settings_page.py)."""
