"""Helpers shared by the tests (never a second copy of the package's own code)."""
