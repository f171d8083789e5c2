"""The test suite; its layout mirrors the source tree."""
