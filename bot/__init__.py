"""digestbot core: sources, analysis, digest building, storage and scheduling (no chat SDKs)."""

__version__ = "0.1.0"
