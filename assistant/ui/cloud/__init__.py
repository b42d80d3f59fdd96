"""The cloud model: Ask/Retry controls, consent, Settings → Cloud, its worker thread."""
