"""The reply to `help`: every command, and the repositories a user may name."""

from __future__ import annotations


def help_text(repos: list[str], topic: str | None = None) -> str:
    """The answer to `help` (plain text; the adapter escapes it)."""
    known = ", ".join(repos[:20]) if repos else "none configured (use owner/name)"
    if topic in {"subscribe", "subscriptions", "unsubscribe", "alerts"}:
        return (
            "Subscriptions (admins):\n"
            "  subscribe <repo> at HH:MM <time zone> [days mon-fri|mon,wed|daily] "
            "[lang zh|en] [min high|medium|low] [alerts high|medium|off] [cadence weekly]\n"
            "  alerts <repo> high|medium|off  (post commits of that importance as they land)\n"
            "  unsubscribe <repo>\n"
            "  subscriptions"
        )
    return (
        "digestbot commands:\n"
        "  digest <repo> [when] [lang zh|en] [min high|medium|low]  (when: today, yesterday,\n"
        "      week, 7d, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)\n"
        "  details <sha> [repo]  (in a digest's thread the repo comes from the digest)\n"
        "  a bare SHA, or a question naming one, in a digest's thread\n"
        "  subscribe / alerts / unsubscribe / subscriptions  (see: help subscribe)\n"
        f"Repositories: {known}"
    )
