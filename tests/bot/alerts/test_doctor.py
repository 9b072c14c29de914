"""The doctor's alert checks: the webhook secret, and polling against the hourly budget."""

from __future__ import annotations

from pydantic import SecretStr

from bot.alerts.doctor import check_alert_polling, check_alert_webhook
from bot.config import AlertsConfig, AppConfig, RepoConfig, Settings, SubscriptionConfig


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def config(minutes: float, *repos: str, webhook: bool = False, local: str = "") -> AppConfig:
    subs = tuple(
        SubscriptionConfig(repo=name, platform="slack", channel="C1", alerts="high")
        for name in (*repos, *([local] if local else []))
    )
    configured = (RepoConfig(name=local, path="/srv/checkout"),) if local else ()  # type: ignore[arg-type]
    return AppConfig(
        repos=configured,
        subscriptions=subs,
        alerts=AlertsConfig(poll_minutes=minutes, webhook=webhook),
    )


def test_the_webhook_needs_a_long_secret() -> None:
    on = config(5, "acme/rocket", webhook=True)
    assert check_alert_webhook(settings(), config(5)).skipped
    missing = check_alert_webhook(settings(), on)
    assert not missing.ok and "not set" in missing.detail
    short = check_alert_webhook(settings(github_webhook_secret=SecretStr("hunter2")), on)
    assert not short.ok and "7 characters" in short.detail and short.fix is not None
    good = check_alert_webhook(settings(github_webhook_secret=SecretStr("x" * 32)), on)
    assert good.ok and not good.skipped and "/github/webhook" in good.detail


def test_polling_is_weighed_against_the_tokens_budget() -> None:
    token = settings(github_token=SecretStr("t"))
    fine = check_alert_polling(token, config(5, "a/one", "b/two"))
    assert fine.ok and "2 branch(es) every 5 min: at most 24 requests/h of 5000/h" in fine.detail
    anonymous = check_alert_polling(settings(), config(5, "a/one", "b/two"))
    assert not anonymous.ok and "of 60/h" in anonymous.detail
    assert anonymous.fix is not None and "GITHUB_TOKEN" in anonymous.fix
    many = check_alert_polling(token, config(0.5, *(f"o/r{n}" for n in range(20))))
    assert not many.ok and "poll_minutes ≥ 1" in (many.fix or "")


def test_local_checkouts_and_no_alerts_cost_nothing() -> None:
    local = check_alert_polling(settings(), config(1, local="widget"))
    assert local.skipped
    assert check_alert_polling(settings(), config(0, "a/one")).skipped
