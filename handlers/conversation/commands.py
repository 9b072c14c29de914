"""The one chat grammar: text a user typed -> a Command, or a ParseError with a short hint."""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import date, time
from typing import Literal

from bot.models import Importance, Language
from bot.vocabulary import AlertLevel, Cadence

COMMAND_WORD = "/digest"
MAX_INPUT = 2000  # longer messages are cut: nobody types a command this long
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_SHA_TOKEN = re.compile(r"^[0-9a-f]{7,40}$")
# A SHA inside free text: 7–40 hex not glued to other word characters, with at least one
# digit (all-letter hex like "defaced" is an English word far more often than a commit).
_SHA_IN_TEXT = re.compile(r"(?<![0-9A-Za-z_])(?=[a-f]*[0-9])[0-9a-f]{7,40}(?![0-9A-Za-z_])")
_MENTION = re.compile(r"^(?:<[@!#][^>\s]{0,80}>|@\S{1,80})$")
_DAYS_N = re.compile(r"^(\d{1,4})d$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HHMM = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)$")
_DAY_NAMES = {
    **{d: d for d in WEEKDAYS},
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
    "tues": "tue",
    "thur": "thu",
    "thurs": "thu",
}
_DAY_SETS = {
    "daily": WEEKDAYS,
    "everyday": WEEKDAYS,
    "weekdays": WEEKDAYS[:5],
    "workdays": WEEKDAYS[:5],
    "weekends": WEEKDAYS[5:],
}
# Chinese words for the common windows, for users typing in Feishu.
_WHEN_WORDS = {"今天": "today", "昨天": "yesterday", "本周": "week", "这周": "week"}
_HELP_WORDS = {"help", "?", "帮助", "usage", "commands"}
_OPTION_KEYS = {"lang", "language", "min", "days", "at", "tz", "alerts", "cadence"}
_ALERT_WORDS: dict[str, AlertLevel] = {
    "high": "high",
    "medium": "medium",
    "off": "off",
    "none": "off",
    "高": "high",
    "中": "medium",
    "关闭": "off",
    "关": "off",
}
_LANGUAGE_WORDS: dict[str, Language] = {
    "zh": "zh",
    "cn": "zh",
    "中文": "zh",
    "en": "en",
    "english": "en",
    "英文": "en",
}


@dataclass(frozen=True)
class HelpCommand:
    topic: str | None = None


@dataclass(frozen=True)
class DigestCommand:
    repo: str
    when: str = "today"  # a window spec bot.windows.parse_window accepts (syntax checked)
    language: Language | None = None
    min_importance: Importance | None = None
    timezone: str | None = None  # None: the bot's default zone


@dataclass(frozen=True)
class DetailsCommand:
    sha: str  # 7–40 lower-case hex
    repo: str | None = None  # None: the repo of the digest behind the thread
    explicit: bool = True  # False for a bare SHA: it must be one of the thread's digest


@dataclass(frozen=True)
class QuestionCommand:
    sha: str  # the first SHA named
    question: str  # the whole text as typed (normalised), untrusted
    shas: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubscribeCommand:
    repo: str
    at: time
    timezone: str | None = None  # None: the bot's default zone
    days: tuple[str, ...] = WEEKDAYS  # names from WEEKDAYS, in week order
    language: Language | None = None
    min_importance: Importance | None = None
    alerts: AlertLevel | None = None  # None: keep what it was ("off" for a new one)
    cadence: Cadence = "daily"  # "weekly": Mondays (unless days say), with the week's chart


@dataclass(frozen=True)
class AlertsCommand:
    """Alerts for an existing subscription of this channel: `alerts <repo> high|medium|off`."""

    repo: str
    level: AlertLevel


@dataclass(frozen=True)
class UnsubscribeCommand:
    repo: str


@dataclass(frozen=True)
class ListSubscriptionsCommand:
    pass


Command = (
    HelpCommand
    | DigestCommand
    | DetailsCommand
    | QuestionCommand
    | SubscribeCommand
    | AlertsCommand
    | UnsubscribeCommand
    | ListSubscriptionsCommand
)

ParseErrorCode = Literal["unknown_command", "missing_argument", "bad_argument"]


@dataclass(frozen=True)
class ParseError:
    """Why the text is not a command; `message` is short, safe and says what to type instead."""

    message: str
    code: ParseErrorCode = "bad_argument"


def normalize(text: str) -> str:
    """NFKC (full-width letters, digits, colon and the ideographic space become ASCII), one
    space between words, no control characters, at most MAX_INPUT characters."""
    folded = unicodedata.normalize("NFKC", text[: MAX_INPUT * 2])
    cleaned = "".join(ch if ch.isprintable() else " " for ch in folded)
    return " ".join(cleaned.split())[:MAX_INPUT]


def parse_command(text: str, *, slash: bool = False) -> Command | ParseError:
    """Parse one message. `slash=True` when the text is the argument of the `/digest` command,
    where a leading repo means "digest" (`/digest sglang today`)."""
    words = normalize(text).split(" ")
    while words and _MENTION.match(words[0]):
        words.pop(0)  # leading @bot mentions an adapter did not strip
    words = [w for w in words if w]
    if words and words[0].lower() == COMMAND_WORD:
        slash = True
        words.pop(0)
    if not words:
        return HelpCommand()
    head = words[0].lower()
    rest = words[1:]
    if head in _HELP_WORDS:
        return HelpCommand(rest[0].lower()[:30] if rest else None)
    if head in {"digest", "摘要"}:
        return _digest(rest)
    if head in {"details", "detail", "show", "详情"}:
        return _details(rest)
    if head in {"subscribe", "订阅"}:
        return _subscribe(rest)
    if head in {"alerts", "alert", "提醒"}:
        return _alerts(rest)
    if head in {"unsubscribe", "取消订阅"}:
        if len(rest) != 1:
            return ParseError("Usage: unsubscribe <repo>", "missing_argument")
        return UnsubscribeCommand(rest[0])
    if head in {"subscriptions", "subs", "订阅列表"}:
        return ListSubscriptionsCommand()
    if len(words) == 1 and _SHA_TOKEN.match(head):
        return DetailsCommand(head, explicit=False)
    shas = tuple(dict.fromkeys(_SHA_IN_TEXT.findall(" ".join(words).lower())))
    # `/digest sglang today` digests; `/digest what could break with 00248d8?` asks.
    if slash and not (shas and (len(words) > 3 or "?" in words[-1])):
        return _digest(words)
    if shas:
        return QuestionCommand(shas[0], " ".join(words), shas)
    return ParseError(
        f"I don't know '{_clip(words[0])}'. Try: digest <repo> [when], details <sha>, help.",
        "unknown_command",
    )


def _digest(args: list[str]) -> DigestCommand | ParseError:
    if not args:
        return ParseError(
            "Usage: digest <repo> [when] [lang zh|en] [min high|medium|low]", "missing_argument"
        )
    repo, rest = args[0], args[1:]
    if repo.lower() in _OPTION_KEYS:
        return ParseError("Name the repository first: digest <repo> [when]", "missing_argument")
    options = _options(rest, {"lang", "min", "tz"})
    if isinstance(options, ParseError):
        return options
    positional, values = options
    when = "today"
    if len(positional) > 1:
        extra = _clip(positional[1])
        return ParseError(f"Unexpected '{extra}'. Give one window, like today or 7d.")
    if positional:
        parsed = parse_when(positional[0])
        if isinstance(parsed, ParseError):
            return parsed
        when = parsed
    zone: str | None = None
    if "tz" in values:
        zone = parse_timezone(values["tz"])
        if zone is None:
            bad = _clip(values["tz"])
            return ParseError(f"Unknown time zone '{bad}'; use one like Asia/Shanghai.")
    language = _language(values.get("lang"))
    if isinstance(language, ParseError):
        return language
    importance = _importance(values.get("min"))
    if isinstance(importance, ParseError):
        return importance
    return DigestCommand(repo, when, language, importance, zone)


def _details(args: list[str]) -> DetailsCommand | ParseError:
    if not args or len(args) > 2:
        return ParseError("Usage: details <sha> [repo]", "missing_argument")
    shas = [a for a in args if _SHA_TOKEN.match(a.lower())]
    if not shas:
        return ParseError(f"'{_clip(args[0])}' is not a commit SHA (7 to 40 hex characters).")
    sha = shas[0].lower()
    others = [a for a in args if a.lower() != sha]
    return DetailsCommand(sha, others[0] if others else None)


def _subscribe(args: list[str]) -> SubscribeCommand | ParseError:
    usage = (
        "Usage: subscribe <repo> at HH:MM <time zone> [days mon-fri] [lang zh|en] [min medium] "
        "[alerts high] [cadence weekly]"
    )
    if not args:
        return ParseError(usage, "missing_argument")
    repo, rest = args[0], args[1:]
    if repo.lower() in _OPTION_KEYS:
        return ParseError(usage, "missing_argument")
    if rest and rest[0].lower() == "at":
        rest = rest[1:]
    if not rest:
        return ParseError("When? " + usage, "missing_argument")
    match = _HHMM.match(rest[0])
    if not match:
        return ParseError(f"'{_clip(rest[0])}' is not a time of day; use HH:MM, like 09:00.")
    at = time(int(match.group(1)), int(match.group(2)))
    rest = rest[1:]
    zone: str | None = None
    if rest and rest[0].lower() not in _OPTION_KEYS:
        zone = parse_timezone(rest[0])
        if zone is None:
            return ParseError(
                f"Unknown time zone '{_clip(rest[0])}'; use an IANA name like Asia/Shanghai."
            )
        rest = rest[1:]
    options = _options(rest, {"lang", "min", "days", "tz", "alerts", "cadence"})
    if isinstance(options, ParseError):
        return options
    positional, values = options
    if positional:
        return ParseError(f"Unexpected '{_clip(positional[0])}'. " + usage)
    if "tz" in values:
        if zone is not None:
            return ParseError("Give the time zone once.")
        zone = parse_timezone(values["tz"])
        if zone is None:
            return ParseError(f"Unknown time zone '{_clip(values['tz'])}'.")
    days = parse_days(values["days"]) if "days" in values else WEEKDAYS
    if isinstance(days, ParseError):
        return days
    language = _language(values.get("lang"))
    if isinstance(language, ParseError):
        return language
    importance = _importance(values.get("min"))
    if isinstance(importance, ParseError):
        return importance
    alerts: AlertLevel | None = None
    if "alerts" in values:
        level = _alert_level(values["alerts"])
        if isinstance(level, ParseError):
            return level
        alerts = level
    cadence: Cadence = "daily"
    if "cadence" in values:
        word = values["cadence"].lower()
        if word not in {"daily", "weekly"}:
            given = _clip(values["cadence"])
            return ParseError(f"'{given}' is not a cadence; use daily or weekly.")
        cadence = "weekly" if word == "weekly" else "daily"
        if cadence == "weekly" and "days" not in values:
            days = ("mon",)
    return SubscribeCommand(repo, at, zone, days, language, importance, alerts, cadence)


def _alerts(args: list[str]) -> AlertsCommand | ParseError:
    usage = "Usage: alerts <repo> high|medium|off"
    if len(args) != 2:
        return ParseError(usage, "missing_argument")
    level = _alert_level(args[1])
    if isinstance(level, ParseError):
        return level
    return AlertsCommand(args[0], level)


def _alert_level(word: str) -> AlertLevel | ParseError:
    level = _ALERT_WORDS.get(word.lower())
    if level is None:
        return ParseError(f"'{_clip(word)}' is not an alert level; use high, medium or off.")
    return level


def _options(args: list[str], allowed: set[str]) -> tuple[list[str], dict[str, str]] | ParseError:
    """Split `key value`, `key=value` and `key:value` options from positional words."""
    positional: list[str] = []
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        word = args[i]
        key, sep, inline = _split_option(word)
        if key is None:
            positional.append(word)
            i += 1
            continue
        if key not in allowed:
            return ParseError(f"'{key}' is not an option here.")
        if sep:
            value = inline
            i += 1
        elif i + 1 < len(args):
            value = args[i + 1]
            i += 2
        else:
            return ParseError(f"'{key}' needs a value.", "missing_argument")
        if not value:
            return ParseError(f"'{key}' needs a value.", "missing_argument")
        if key in values:
            return ParseError(f"'{key}' is given twice.")
        values[key] = value
    return positional, values


def _split_option(word: str) -> tuple[str | None, bool, str]:
    lowered = word.lower().lstrip("-")
    for sep in ("=", ":"):
        name, found, _ = lowered.partition(sep)
        if found and name in _OPTION_KEYS:
            return _canonical_key(name), True, word.split(sep, 1)[1]
    if lowered in _OPTION_KEYS and lowered not in {"at"}:
        return _canonical_key(lowered), False, ""
    return None, False, ""


def _canonical_key(name: str) -> str:
    return "lang" if name == "language" else name


def parse_when(text: str) -> str | ParseError:
    """Check a window spec's syntax and dates (the window itself is built later, in a zone)."""
    spec = _WHEN_WORDS.get(text, text).lower()
    if spec in {"today", "yesterday", "week"}:
        return spec
    match = _DAYS_N.match(spec)
    if match:
        if not 1 <= int(match.group(1)) <= 366:
            return ParseError("Nd takes 1 to 366 days, like 7d.")
        return spec
    parts = spec.split("..") if ".." in spec else [spec]
    if len(parts) > 2 or not all(_DATE.match(p) for p in parts):
        return ParseError(
            f"'{_clip(text)}' is not a day; use today, yesterday, week, 7d, "
            "YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD."
        )
    try:
        days = [date.fromisoformat(p) for p in parts]
    except ValueError:
        return ParseError(f"'{_clip(text)}' is not a valid date.")
    if days[-1] < days[0]:
        return ParseError("The range ends before it starts.")
    return spec


def parse_timezone(text: str) -> str | None:
    """The canonical IANA name for `text` (case-insensitive), or None."""
    return _zone_names().get(text.lower())


@functools.cache
def _zone_names() -> dict[str, str]:
    names = {name.lower(): name for name in zoneinfo.available_timezones()}
    names.setdefault("utc", "UTC")
    return names


def parse_days(text: str) -> tuple[str, ...] | ParseError:
    """`mon-fri`, `mon,wed`, `daily`, `weekdays`, `weekends` -> day names in week order."""
    spec = text.lower()
    if spec in _DAY_SETS:
        return _DAY_SETS[spec]
    chosen: set[str] = set()
    for part in spec.split(","):
        first, dash, last = part.partition("-")
        start, end = _DAY_NAMES.get(first), _DAY_NAMES.get(last if dash else first)
        if start is None or end is None:
            bad = _clip(text)
            return ParseError(f"'{bad}' is not a list of days; use mon-fri, mon,wed or daily.")
        i, j = WEEKDAYS.index(start), WEEKDAYS.index(end)
        span = range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)]
        chosen.update(WEEKDAYS[k] for k in span)
    return tuple(d for d in WEEKDAYS if d in chosen)


def _language(value: str | None) -> Language | ParseError | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in _LANGUAGE_WORDS:
        return _LANGUAGE_WORDS[lowered]
    return ParseError(f"Language '{_clip(value)}' is not supported; use zh or en.")


def _importance(value: str | None) -> Importance | ParseError | None:
    if value is None:
        return None
    try:
        return Importance(value.lower())
    except ValueError:
        return ParseError(f"'{_clip(value)}' is not an importance; use high, medium or low.")


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
