"""The model library: catalog, Hub search, downloads, installed models, first-run wizard, model settings."""
