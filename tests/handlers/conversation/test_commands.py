"""The chat grammar: examples for every command and property tests over arbitrary text."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Importance
from handlers.conversation.commands import (
    WEEKDAYS,
    AlertsCommand,
    DetailsCommand,
    DigestCommand,
    HelpCommand,
    ListSubscriptionsCommand,
    ParseError,
    QuestionCommand,
    SubscribeCommand,
    UnsubscribeCommand,
    normalize,
    parse_command,
    parse_days,
    parse_timezone,
    parse_when,
)
from handlers.conversation.help_text import help_text


@pytest.mark.parametrize(
    ("text", "slash", "expected"),
    [
        ("sglang today", True, DigestCommand("sglang", "today")),
        ("/digest sglang today", False, DigestCommand("sglang", "today")),
        ("digest sglang", False, DigestCommand("sglang", "today")),
        ("DIGEST SGLang Yesterday", False, DigestCommand("SGLang", "yesterday")),
        (
            "digest sglang 2026-02-01..2026-02-07 lang zh min high",
            False,
            DigestCommand("sglang", "2026-02-01..2026-02-07", "zh", Importance.HIGH),
        ),
        (
            "digest sglang 7d lang=en min:medium",
            False,
            DigestCommand("sglang", "7d", "en", Importance.MEDIUM),
        ),
        (
            "digest sglang week tz asia/shanghai",
            False,
            DigestCommand("sglang", "week", timezone="Asia/Shanghai"),
        ),
        ("<@U0BOT> digest sglang", False, DigestCommand("sglang", "today")),
        ("@digestbot digest sglang", False, DigestCommand("sglang", "today")),
        ("@_user_1　digest　sglang　今天", False, DigestCommand("sglang", "today")),  # Feishu
        (
            "ｄｉｇｅｓｔ ｓｇｌａｎｇ ２０２６-０２-０８",
            False,
            DigestCommand("sglang", "2026-02-08"),
        ),
        ("／digest sglang", False, DigestCommand("sglang", "today")),
        ("details 00248d8", False, DetailsCommand("00248d8")),
        ("details 00248D8 sglang", False, DetailsCommand("00248d8", "sglang")),
        ("details sglang 00248d8", False, DetailsCommand("00248d8", "sglang")),
        ("00248d8", False, DetailsCommand("00248d8", explicit=False)),
        ("/digest 00248d8", False, DetailsCommand("00248d8", explicit=False)),
        (
            "what could break with 00248d8?",
            False,
            QuestionCommand("00248d8", "what could break with 00248d8?", ("00248d8",)),
        ),
        (
            "what could break with 00248d8?",
            True,
            QuestionCommand("00248d8", "what could break with 00248d8?", ("00248d8",)),
        ),
        ("help", False, HelpCommand()),
        ("/digest help subscribe", False, HelpCommand("subscribe")),
        ("", True, HelpCommand()),
        ("   ", False, HelpCommand()),
        ("帮助", False, HelpCommand()),
        ("subscriptions", False, ListSubscriptionsCommand()),
        ("unsubscribe sglang", False, UnsubscribeCommand("sglang")),
        (
            "subscribe sglang at 09:00 Asia/Shanghai lang zh min medium",
            False,
            SubscribeCommand("sglang", time(9), "Asia/Shanghai", WEEKDAYS, "zh", Importance.MEDIUM),
        ),
        (
            "subscribe sglang at 7:30 europe/berlin days mon-fri",
            False,
            SubscribeCommand("sglang", time(7, 30), "Europe/Berlin", WEEKDAYS[:5]),
        ),
        (
            "subscribe sglang 18：05 days mon,wed",
            False,
            SubscribeCommand("sglang", time(18, 5), None, ("mon", "wed")),
        ),
        (
            "subscribe sglang at 09:00 UTC alerts high",
            False,
            SubscribeCommand("sglang", time(9), "UTC", alerts="high"),
        ),
        ("alerts sglang medium", False, AlertsCommand("sglang", "medium")),
        ("ALERTS sglang OFF", False, AlertsCommand("sglang", "off")),
        ("提醒 sglang 高", False, AlertsCommand("sglang", "high")),
    ],
)
def test_examples(text: str, slash: bool, expected: object) -> None:
    assert parse_command(text, slash=slash) == expected


@pytest.mark.parametrize(
    ("text", "fragment", "code"),
    [
        ("digest", "Usage: digest <repo>", "missing_argument"),
        ("digest sglang tomorrowish", "not a day", "bad_argument"),
        ("digest sglang 2026-02-30", "not a valid date", "bad_argument"),
        ("digest sglang 2026-02-08..2026-02-01", "ends before it starts", "bad_argument"),
        ("digest sglang 400d", "1 to 366 days", "bad_argument"),
        ("digest sglang lang fr", "zh or en", "bad_argument"),
        ("digest sglang min urgent", "high, medium or low", "bad_argument"),
        ("digest sglang today lang", "needs a value", "missing_argument"),
        ("digest sglang today lang zh lang en", "given twice", "bad_argument"),
        ("digest sglang today yesterday", "Unexpected 'yesterday'", "bad_argument"),
        ("digest sglang days daily", "not an option", "bad_argument"),
        ("digest sglang tz Mars/Base", "Unknown time zone", "bad_argument"),
        ("details", "Usage: details <sha>", "missing_argument"),
        ("details zz", "not a commit SHA", "bad_argument"),
        ("details abc", "not a commit SHA", "bad_argument"),
        ("subscribe sglang", "When?", "missing_argument"),
        ("subscribe sglang at 25:00", "not a time of day", "bad_argument"),
        ("subscribe sglang at 09:00 Mars/Base", "Unknown time zone", "bad_argument"),
        ("subscribe sglang at 09:00 UTC days someday", "not a list of days", "bad_argument"),
        ("unsubscribe", "Usage: unsubscribe", "missing_argument"),
        ("alerts sglang", "Usage: alerts <repo>", "missing_argument"),
        ("alerts sglang loud", "not an alert level", "bad_argument"),
        ("subscribe sglang at 09:00 UTC alerts low", "not an alert level", "bad_argument"),
        ("thanks, looks good!", "I don't know", "unknown_command"),
    ],
)
def test_errors_are_short_and_say_what_to_type(text: str, fragment: str, code: str) -> None:
    result = parse_command(text)
    assert isinstance(result, ParseError)
    assert fragment in result.message
    assert result.code == code
    assert len(result.message) <= 200


def test_slash_argument_starting_with_a_repo_is_a_digest_even_with_numbers() -> None:
    assert parse_command("sglang 20260208", slash=True) == ParseError(
        "'20260208' is not a day; use today, yesterday, week, 7d, "
        "YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD."
    )


def test_english_words_made_of_hex_letters_are_not_shas() -> None:
    assert isinstance(parse_command("the feed was defaced"), ParseError)
    question = parse_command("is deadbee1 safe?")
    assert isinstance(question, QuestionCommand) and question.sha == "deadbee1"


def test_question_keeps_every_sha_in_order() -> None:
    result = parse_command("compare 1234567abc with ABCDEF0123 and 1234567abc")
    assert isinstance(result, QuestionCommand)
    assert result.shas == ("1234567abc", "abcdef0123")


def test_helpers() -> None:
    assert parse_when("昨天") == "yesterday"
    assert parse_days("fri-mon") == ("mon", "fri", "sat", "sun")
    assert parse_days("weekdays") == WEEKDAYS[:5]
    assert parse_timezone("america/new_york") == "America/New_York"
    assert parse_timezone("../etc/passwd") is None
    assert normalize("a\u3000b\x00c\n d") == "a b c d"
    assert "acme/widget" in help_text(["acme/widget", "widget"])
    assert "subscribe <repo> at HH:MM" in help_text([], "subscribe")


# -- properties --------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "digest",
        "details",
        "help",
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "/digest",
        "sglang",
        "acme/widget",
        "today",
        "yesterday",
        "week",
        "7d",
        "0d",
        "2026-02-08",
        "2026-02-08..2026-02-09",
        "lang",
        "zh",
        "en",
        "min",
        "high",
        "low",
        "days",
        "mon-fri",
        "at",
        "09:00",
        "Asia/Shanghai",
        "tz",
        "00248d8",
        "ABCDEF1",
        "<@U1>",
        "@bot",
        "?",
        "lang=zh",
        "min:",
        "=",
        ":",
        "..",
        "　",
        "今天",
        "详情",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300), st.booleans())
def test_any_text_gets_a_command_or_a_helpful_error(text: str, slash: bool) -> None:
    result = parse_command(text, slash=slash)
    _assert_well_formed(result)


@settings(max_examples=600, deadline=None)
@given(st.lists(_WORDS | st.text(max_size=12), max_size=12), st.booleans())
def test_command_like_word_salad_never_crashes(words: list[str], slash: bool) -> None:
    result = parse_command(" ".join(words), slash=slash)
    _assert_well_formed(result)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[0-9a-f]{7,40}", fullmatch=True))
def test_a_bare_sha_is_always_details(sha: str) -> None:
    assert parse_command(sha) == DetailsCommand(sha, explicit=False)
    assert parse_command(f"details {sha.upper()}") == DetailsCommand(sha)


def test_huge_input_is_bounded() -> None:
    result = parse_command("digest " + "a" * 100_000)
    assert isinstance(result, DigestCommand)
    assert len(result.repo) <= 2000


def _assert_well_formed(result: object) -> None:
    if isinstance(result, ParseError):
        assert result.message.strip()
        assert len(result.message) <= 200
        assert "Traceback" not in result.message
        return
    assert isinstance(
        result,
        HelpCommand
        | DigestCommand
        | DetailsCommand
        | QuestionCommand
        | SubscribeCommand
        | UnsubscribeCommand
        | ListSubscriptionsCommand,
    )
    if isinstance(result, DigestCommand):
        assert result.repo and parse_when(result.when) == result.when
    if isinstance(result, DetailsCommand | QuestionCommand):
        assert 7 <= len(result.sha) <= 40 and all(c in "0123456789abcdef" for c in result.sha)
    if isinstance(result, SubscribeCommand):
        assert result.days and set(result.days) <= set(WEEKDAYS)
