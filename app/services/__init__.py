"""The use cases: the only code that commits a transaction. Grouped by what they do (DEVELOPERS.md)."""
