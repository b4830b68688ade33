"""Lets `python -m devic_tui` behave like the `devic-tui` command."""

from devic_tui.cli import main

raise SystemExit(main())
