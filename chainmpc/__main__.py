"""``python -m chainmpc`` runs the command line."""

from chainmpc.cli import main

main()
