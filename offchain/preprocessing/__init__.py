"""Preprocessing material: its kinds and needs, the dealer, the per-org codec and sealed
cache, and the counting of what a job consumes (by tracing it on a counting engine)."""
