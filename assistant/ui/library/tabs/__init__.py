"""The model library's four tabs, one widget each: Recommended, Search Hugging Face, Downloads, Installed."""
