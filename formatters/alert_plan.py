"""What an alert card shows, for every platform: heading, the alerted commits and its notes.

An alert is one compact message about commits at or above a subscription's alert threshold as
they landed (bot.models.Alert). The plan says, in raw text that renderers escape: the heading
("🔴 High-importance commit in {repo}", "🔴 {n} commits in {repo} (one push)", "(force-push)"),
the commits shown — in full (head line, author · type · files, summary, up to two risks, a
Details button) when the card is about a few commits, else one line and a short summary each,
at most FOLDED_SHOWN of them and "+N more" — the note on alerts held back since the previous
card (quiet hours, rate cap; they are in the daily digest) and how to ask for a commit's full
analysis. `Markup` and `commit_text` write a commit the same way on every platform, and
`fit_alert` finds the largest rendering within a platform's limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from bot.models import Alert, Importance
from formatters.card_sections import SCALES, CardPlan, CommitView, details_of, plan_card, scaled
from formatters.clock import clock_time, in_zone
from formatters.labels import SEVERITY_EMOJI, AlertLabels, alert_labels_for
from formatters.text_safety import Escaper, fit, one_line

SUMMARY_MAX = 500  # an expanded commit's summary
RISK_MAX = 200  # each of its risks
RISKS_SHOWN = 2
EXPANDED_MAX = 3  # a card about more commits than this (or a folded push) lists them as lines
FOLDED_SHOWN = 10  # lines of a folded card; the rest is "+N more"
FOLDED_SUMMARY_MAX = 160
RISK_MARK = "⚠️ "
NO_IMPORTANCE_EMOJI = "🔔"  # the heading of an alert without commits (never sent in practice)


@dataclass(frozen=True)
class AlertCommit:
    """One commit as the card shows it: its card line and the risks to show with it (raw)."""

    view: CommitView
    risks: tuple[str, ...]


@dataclass(frozen=True)
class AlertPlan:
    """An alert as a card; all text raw (cleaned, not escaped)."""

    card: CardPlan  # the alert's digest as a card: labels, links, language, details hint
    words: AlertLabels
    heading: str  # "🔴 High-importance commit in sgl-project/sglang"
    top: Importance | None  # the highest importance among the commits
    compact: bool  # one line and a short summary per commit (a folded push, a burst)
    commits: tuple[AlertCommit, ...]  # the commits shown, most important first
    more: int  # commits the card leaves out (they are in the daily digest)
    held_note: str | None  # alerts held back since the previous card, and why
    landed: str  # local "YYYY-MM-DD HH:MM" of the newest commit ("" without commits)

    @property
    def details_hint(self) -> str:
        """How to ask for a commit's full analysis (reply `details <sha>` / mention the bot)."""
        return self.card.details_hint

    @property
    def more_line(self) -> str | None:
        """ "+3 more" when the card leaves commits out."""
        return self.words.more.format(count=self.more) if self.more else None

    def showing(self, count: int) -> AlertPlan:
        """The plan with only its first `count` commits shown (the rest counted in `more`)."""
        count = max(0, min(count, len(self.commits)))
        left_out = len(self.commits) - count
        return replace(self, commits=self.commits[:count], more=self.more + left_out)


def plan_alert(alert: Alert, *, details_by_mention: bool = False) -> AlertPlan:
    """The platform-neutral card of `alert`; `details_by_mention` for a platform where the bot
    reads only messages that mention it (Discord), so its hint says to mention it."""
    digest = alert.digest
    card = plan_card(digest, details_by_mention=details_by_mention)
    words = alert_labels_for(digest.language)
    views = [view for section in card.sections for view in section.commits]
    compact = alert.folded or len(views) > EXPANDED_MAX
    shown = views[:FOLDED_SHOWN] if compact else views
    commits = tuple(
        AlertCommit(
            view,
            () if compact else details_of(view, digest.language).risks[:RISKS_SHOWN],
        )
        for view in shown
    )
    tz = digest.window.tz
    newest = max((item.commit.committed_at for item in digest.items), default=None)
    return AlertPlan(
        card=card,
        words=words,
        heading=_heading(alert, card, words, len(views)),
        top=card.top,
        compact=compact,
        commits=commits,
        more=len(views) - len(shown),
        held_note=_held_note(alert, words, tz, newest),
        landed=in_zone(newest, tz).strftime("%Y-%m-%d %H:%M") if newest else "",
    )


def _heading(alert: Alert, card: CardPlan, words: AlertLabels, count: int) -> str:
    repo = card.repo_label
    if count == 1 and card.top is not None:
        text = words.one[card.top].format(repo=repo)
    elif alert.folded:
        text = words.folded.format(count=count, repo=repo)
    else:
        text = words.several.format(count=count, repo=repo)
    if alert.forced:
        text += words.forced
    emoji = SEVERITY_EMOJI[card.top] if card.top is not None else NO_IMPORTANCE_EMOJI
    return f"{emoji} {text}"


def _held_note(alert: Alert, words: AlertLabels, tz: str, newest: datetime | None) -> str | None:
    """ "3 more alerts held back since 10:42 (…)": the time in the channel's zone, with its
    date when that is not the day of the newest commit."""
    held = alert.held
    if held.total <= 0:
        return None
    since = ""
    if held.since is not None:
        since = words.held_since.format(time=clock_time(held.since, tz, day_of=newest))
    return words.held_back.format(
        count=held.total, since=since, quiet=held.quiet_hours, cap=held.rate_cap
    )


@dataclass(frozen=True)
class Markup:
    """How one platform writes a commit: its escaper, its head line (emoji, linked SHA, title,
    PR; the title shortened by `scale`) and its meta line (type · author · files)."""

    escape: Escaper
    head: Callable[[CommitView, float], str]
    meta: Callable[[CommitView], str]


def commit_text(plan: AlertPlan, commit: AlertCommit, markup: Markup, scale: float) -> str:
    """One commit of the card as lines of the platform's markup, shortened by `scale`."""
    view, escape = commit.view, markup.escape
    if plan.compact:
        lines = [markup.head(view, min(scale, 0.5))]
        limit = scaled(FOLDED_SUMMARY_MAX, scale)
        if view.summary and limit:
            lines.append(fit(one_line(view.summary), limit, escape))
    else:
        lines = [markup.head(view, scale), markup.meta(view)]
        if view.summary:
            lines.append(fit(view.summary, scaled(SUMMARY_MAX, scale, 100), escape))
        limit = scaled(RISK_MAX, scale, 60)
        lines += [RISK_MARK + fit(one_line(risk), limit, escape) for risk in commit.risks]
    return "\n".join(line for line in lines if line)


Rendered = TypeVar("Rendered")


def fit_alert(
    plan: AlertPlan,
    render: Callable[[AlertPlan, float], Rendered],
    fits: Callable[[Rendered], bool],
) -> Rendered:
    """The largest rendering of `plan` that `fits`: its text shrinks through SCALES first, then
    the card shows fewer commits (counted in "+N more"); the last try shows none."""
    for count in range(len(plan.commits), 0, -1):
        shown = plan.showing(count)
        for scale in SCALES:
            rendered = render(shown, scale)
            if fits(rendered):
                return rendered
    return render(plan.showing(0), SCALES[-1])
