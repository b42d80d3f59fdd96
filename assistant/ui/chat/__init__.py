"""The chat: session, view, messages, conversation list, header, engine host."""
