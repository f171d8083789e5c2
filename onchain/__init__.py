"""Everything that talks to the chain: compile, artifacts, connection, clients, audit."""

import logging

# A library's loggers stay silent unless the application configures logging: without this,
# Python's last-resort handler printed every node retry bare on stderr, beside the line the
# command itself prints for it (``progress``).
logging.getLogger(__name__).addHandler(logging.NullHandler())
