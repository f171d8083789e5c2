"""Data-mining algorithms over secure types: what a job computes."""
