"""Alerts: commits at or above a subscription's level, posted as they land (docs/alerts.md)."""
