"""Alert -> plain text for a terminal: the heading, the alerted commits with their pages, notes.

Untrusted text (titles, authors, summaries, risks) is cleaned and its links defanged, as in
the Markdown report; the only URLs are the repository's own commit and pull-request pages.
"""

from __future__ import annotations

from bot.models import Alert
from formatters.alert_plan import Markup, commit_text, plan_alert
from formatters.card_sections import CommitView, scaled
from formatters.labels import SEVERITY_EMOJI
from formatters.text_safety import clean, clip, defang, fit, one_line

TITLE_MAX = 200
AUTHOR_MAX = 80


def plain(text: str) -> str:
    """Untrusted text as inert plain text: cleaned, links defanged."""
    return defang(clean(text))


def commit_head(view: CommitView, scale: float) -> str:
    """ "🔴 00248d8 title (#123)", then the commit's page on a line of its own."""
    title = fit(one_line(view.title), scaled(TITLE_MAX, scale, 60), plain)
    pr = f" (#{view.pr_number})" if view.pr_url else ""
    head = f"{SEVERITY_EMOJI[view.importance]} {plain(view.short_sha)} {title}".rstrip() + pr
    return f"{head}\n  {view.commit_url}" if view.commit_url else head


def commit_meta(view: CommitView) -> str:
    """ "type · author · files · alerted 10:42"."""
    parts = [view.change_type, clip(view.author, AUTHOR_MAX), view.files_line, view.alerted]
    return plain(" · ".join(part for part in parts if part))


MARKUP = Markup(escape=plain, head=commit_head, meta=commit_meta)


def render_alert_text(alert: Alert) -> str:
    """The alert as one plain-text message."""
    plan = plan_alert(alert)
    blocks = [plain(plan.heading)]
    blocks += [commit_text(plan, commit, MARKUP, 1.0) for commit in plan.commits]
    notes = [note for note in (plan.more_line, plan.held_note, plan.details_hint) if note]
    blocks.append(plain("\n".join(notes)))
    return "\n\n".join(blocks) + "\n"
