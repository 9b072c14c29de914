"""The short channel notices of the scheduler (missed runs, failed posts), in zh or en."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.storage.subscriptions import Subscription


def missed_text(subscription: Subscription, days: Sequence[date]) -> str:
    """One short notice for runs that were due while the bot was down too long."""
    ordered = sorted(days)
    span = ordered[0].isoformat() if len(ordered) == 1 else f"{ordered[0]}..{ordered[-1]}"
    repo = subscription.repo
    if subscription.spec.language == "zh":
        return (
            f"机器人停机期间错过了 {repo} 的 {len(ordered)} 次定时摘要（{span}）。"
            f"需要时可发送：digest {repo} {span}"
        )
    count = "digest" if len(ordered) == 1 else f"{len(ordered)} digests"
    return (
        f"The bot was down when the scheduled {count} of {repo} for {span} "
        f"{'was' if len(ordered) == 1 else 'were'} due. Ask `digest {repo} {span}` to see them."
    )


def failed_text(subscription: Subscription, day: date, reason: str) -> str:
    repo = subscription.repo
    if subscription.spec.language == "zh":
        return f"{day} 的 {repo} 定时摘要发送失败（{reason}）。可稍后发送：digest {repo} yesterday"
    return (
        f"The scheduled digest of {repo} for {day} could not be posted ({reason}). "
        f"Try `digest {repo} yesterday` later."
    )


def partial_text(subscription: Subscription, day: date, reason: str) -> str:
    """Some messages of a multi-part digest are up, others failed for good."""
    repo = subscription.repo
    if subscription.spec.language == "zh":
        return (
            f"{day} 的 {repo} 定时摘要只发出了一部分（{reason}）。"
            f"完整内容可发送：digest {repo} {day}"
        )
    return (
        f"The scheduled digest of {repo} for {day} was posted only in part ({reason}). "
        f"Ask `digest {repo} {day}` for the whole of it."
    )
