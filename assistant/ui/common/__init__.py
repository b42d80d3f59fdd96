"""Shared by every feature: theme, icons, thread-pool jobs, Markdown rendering, the table model base."""
