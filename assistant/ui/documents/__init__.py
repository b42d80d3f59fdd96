"""The window's part of documents: the Documents dialog (collections, indexing with progress
and Stop, and a search that shows why each passage was chosen)."""
