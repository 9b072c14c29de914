"""Persistence: commit cache, analyses, digests and (later) subscriptions and deliveries."""
