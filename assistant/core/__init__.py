"""The floor of the house: types and file readers that every other package may use."""
