"""Conversations and messages: the SQLite history store, context building and the router."""
