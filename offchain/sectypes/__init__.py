"""Secure types: secret-shared integer and fixed-point arrays whose operations read like
their plaintext versions and run the protocols underneath."""
