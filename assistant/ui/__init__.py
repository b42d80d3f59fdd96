"""Everything that imports Qt: windows, views, item models, workers."""
