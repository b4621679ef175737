"""`python -m declutr`: the `declutr` command."""

from declutr.cli import main

main()
