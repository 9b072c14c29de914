"""`python -m digestbot` runs the digestbot CLI."""

from digestbot.cli import entry

entry()
