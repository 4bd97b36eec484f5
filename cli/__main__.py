"""`python -m cli`: the `vnsearch` command without its installed script."""

from cli import main

main()
