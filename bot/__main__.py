"""`python -m bot` runs the digestbot CLI."""

from bot.cli import main

raise SystemExit(main())
