"""The composition root: the CLI, `serve`, `doctor` and the wiring. Nothing imports it."""
