"""Pure renderers: Digest / CommitAnalysis -> Markdown, JSON and chat-platform payloads."""
