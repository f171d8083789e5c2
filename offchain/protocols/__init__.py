"""Protocols on shares, built on the engine: comparison, equality, bit decomposition,
bounded input and truncation."""
