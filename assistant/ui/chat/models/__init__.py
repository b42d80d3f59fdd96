"""Item models of the chat: conversations and search hits, messages, installed models."""
