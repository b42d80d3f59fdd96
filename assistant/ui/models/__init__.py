"""Qt item models with named roles; views only show them."""
