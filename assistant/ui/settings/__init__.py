"""Settings: the dialog and the network activity page."""
