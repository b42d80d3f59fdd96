"""The window's side of tools: the calls an answer made (a collapsed block in the chat),
asking before a call runs, the per-chat tool picker and Settings → Tools."""
