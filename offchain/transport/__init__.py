"""Authenticated, encrypted channels between org peers: framing, handshake and the mesh."""
