"""`digestbot doctor`'s alert checks: the webhook secret, and the poll against the rate budget."""

from __future__ import annotations

from bot.config import AppConfig, Settings
from bot.doctor import Check

# GitHub's primary rate limits per hour: with a token, and unauthenticated
# (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api).
TOKEN_LIMIT = 5000
ANONYMOUS_LIMIT = 60
# Polls may use at most this share of the budget in the worst case (every poll a 200): the
# rest is for digests, commit details and chat commands.
POLL_SHARE = 0.25
MIN_SECRET = 20  # characters; GitHub asks for "a random string with high entropy"


def check_alert_webhook(settings: Settings, config: AppConfig) -> Check:
    name = "alerts webhook"
    if not config.alerts.webhook:
        return Check.skip(name, "off ([alerts] webhook = false): alerts come from polling")
    secret = settings.github_webhook_secret
    value = secret.get_secret_value() if secret is not None else ""
    if not value:
        return Check.failed(
            name,
            "[alerts] webhook = true but GITHUB_WEBHOOK_SECRET is not set",
            "Set GITHUB_WEBHOOK_SECRET to the secret of the repository's webhook "
            "(serve refuses to start without it).",
        )
    if len(value) < MIN_SECRET:
        return Check.failed(
            name,
            f"GITHUB_WEBHOOK_SECRET has {len(value)} characters",
            f"Use a random secret of at least {MIN_SECRET} characters "
            "(python -c 'import secrets; print(secrets.token_hex(32))'), here and on GitHub.",
        )
    return Check.passed(
        name,
        f"POST {config.alerts.webhook_path} on the HTTP port; signed with GITHUB_WEBHOOK_SECRET",
    )


def check_alert_polling(settings: Settings, config: AppConfig) -> Check:
    """The worst case of polling (every poll finds the branch moved; a 304 costs nothing)
    against the token's hourly limit, for the branches the config file alerts on."""
    name = "alerts polling"
    minutes = config.alerts.poll_minutes
    local = {r.name.lower() for r in config.repos if r.path is not None}
    branches = {s.repo.lower() for s in config.subscriptions if s.alerts != "off"} - local
    if minutes <= 0:
        return Check.skip(name, "off ([alerts] poll_minutes = 0): webhook only")
    if not branches:
        return Check.skip(
            name, f"every {minutes:g} min; no GitHub subscription in the config file has alerts"
        )
    limit = TOKEN_LIMIT if settings.github_token is not None else ANONYMOUS_LIMIT
    per_hour = len(branches) * 60.0 / minutes
    detail = (
        f"{len(branches)} branch(es) every {minutes:g} min: at most {per_hour:.0f} requests/h "
        f"of {limit}/h (an unchanged branch answers 304, which costs none)"
    )
    if per_hour > limit * POLL_SHARE:
        fewer = len(branches) * 60.0 / (limit * POLL_SHARE)
        return Check.failed(
            name,
            detail,
            f"Poll less often ([alerts] poll_minutes ≥ {fewer:.0f})"
            + ("" if settings.github_token is not None else " or set GITHUB_TOKEN")
            + ", or use the webhook ([alerts] webhook = true).",
        )
    return Check.passed(name, detail)
