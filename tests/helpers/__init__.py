"""Helpers shared by the tests (never a second copy of the package's own code): the MPC party
harness and the embedded-chain deployment and session driver."""
