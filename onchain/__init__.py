"""Everything that talks to the chain: compile, artifacts, connection, clients, audit."""
