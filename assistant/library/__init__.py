"""The model library: model files on disk, their metadata, and finding them by name."""
