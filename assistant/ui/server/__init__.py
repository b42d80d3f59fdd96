"""The local API server in the window (Settings → Server) and the user's own servers."""
