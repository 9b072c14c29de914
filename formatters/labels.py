"""Every user-visible label of the renderers, in Chinese and English (the reference's wording)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import (
    CHANGE_TYPE_NAMES,
    ChangeType,
    CommitAnalysis,
    DigestItem,
    Importance,
    Language,
)
from formatters.clock import clock_time


@dataclass(frozen=True)
class Labels:
    """One language's words. Field names say where each is used."""

    report_title: str  # "每日更新报告（{date}）"
    col_time: str
    col_author: str
    col_message: str
    stats_heading: str
    stats_line: str  # "{total} {high} {medium} {low}" placeholders
    toc_heading: str
    section: dict[Importance, str]  # "高重要度变更"
    importance: dict[Importance, str]  # "高"
    change_type: dict[ChangeType, str]
    view_commit: str
    field_type: str
    field_importance: str
    field_summary: str
    field_scope: str
    insights_heading: str
    insights_col_dimension: str
    insights_col_analysis: str
    dimension: dict[str, str]
    risks_heading: str
    recommendations_heading: str
    recommendations_col_step: str
    recommendations_col_advice: str
    no_commits: str
    overview_heading: str
    author: str
    details_button: str
    coverage_note: str  # "analysed {sent} of {total} files"
    fallback_note: str
    heuristic_note: str
    rule_note: str  # the heuristic's deciding rule: "判定依据：{reason}"
    part: str  # "part {index}/{count}"
    generated_by: str
    # Added for the Markdown renderer; defaults are English so existing constructors still work.
    stats_line_window: str = (
        "{total} commits | 🔴 high {high} | 🟡 medium {medium} | 🟢 low {low}"  # several days
    )
    coverage_lines_note: str = "analysed {sent} of {total} changed lines"
    excluded_note: str = "{count} commits filtered out"
    # A chat command's LLM-call cap left commits to the rules (CALL_LIMIT_REASON).
    capped_note: str = (
        "{count} commits analysed by rules: one chat command makes at most {limit} LLM calls; "
        "ask for a shorter window for a full reading"
    )
    pull_request: str = "PR"
    colon: str = ": "  # between a bold field name and its value
    list_separator: str = "; "  # between notes on one line


ZH = Labels(
    report_title="每日更新报告（{date}）",
    col_time="提交时间",
    col_author="作者",
    col_message="提交信息",
    stats_heading="📊 统计摘要",
    stats_line="本日共 {total} 个提交 | 🔴高 {high} | 🟡中 {medium} | 🟢低 {low}",
    toc_heading="📋 目录",
    section={
        Importance.HIGH: "高重要度变更",
        Importance.MEDIUM: "中重要度变更",
        Importance.LOW: "低重要度变更",
    },
    importance={Importance.HIGH: "高", Importance.MEDIUM: "中", Importance.LOW: "低"},
    change_type=CHANGE_TYPE_NAMES["zh"],
    view_commit="查看提交",
    field_type="变更类型",
    field_importance="重要程度",
    field_summary="变更摘要",
    field_scope="影响范围",
    insights_heading="🔍 技术洞察",
    insights_col_dimension="维度",
    insights_col_analysis="影响分析",
    dimension={
        "architecture": "架构影响",
        "performance": "性能影响",
        "security": "安全考虑",
        "maintainability": "可维护性",
        "compatibility": "兼容性",
        "testing": "测试覆盖",
    },
    risks_heading="⚠️ 潜在风险",
    recommendations_heading="💡 关注建议",
    recommendations_col_step="步骤",
    recommendations_col_advice="建议",
    no_commits="该时间段内没有提交。",
    overview_heading="🧭 今日概览",
    author="作者",
    details_button="详情",
    coverage_note="已分析 {sent}/{total} 个文件",
    fallback_note="大模型分析失败，已使用规则分析",
    heuristic_note="规则分析（未使用大模型）",
    rule_note="判定依据：{reason}",
    part="第 {index}/{count} 部分",
    generated_by="由 digestbot 生成",
    stats_line_window="本时段共 {total} 个提交 | 🔴高 {high} | 🟡中 {medium} | 🟢低 {low}",
    coverage_lines_note="已分析 {sent}/{total} 行变更",
    excluded_note="另有 {count} 个提交被过滤",
    capped_note=(
        "{count} 个提交使用规则分析：单条聊天命令最多调用大模型 {limit} 次；"
        "缩短时间范围可获得完整分析"
    ),
    pull_request="PR",
    colon="：",
    list_separator="；",
)

EN = Labels(
    report_title="Daily update report ({date})",
    col_time="Committed",
    col_author="Author",
    col_message="Message",
    stats_heading="📊 Statistics",
    stats_line="{total} commits | 🔴 high {high} | 🟡 medium {medium} | 🟢 low {low}",
    toc_heading="📋 Contents",
    section={
        Importance.HIGH: "High-importance changes",
        Importance.MEDIUM: "Medium-importance changes",
        Importance.LOW: "Low-importance changes",
    },
    importance={Importance.HIGH: "high", Importance.MEDIUM: "medium", Importance.LOW: "low"},
    change_type=CHANGE_TYPE_NAMES["en"],
    view_commit="View commit",
    field_type="Change type",
    field_importance="Importance",
    field_summary="Summary",
    field_scope="Impact scope",
    insights_heading="🔍 Technical insights",
    insights_col_dimension="Dimension",
    insights_col_analysis="Analysis",
    dimension={
        "architecture": "Architecture",
        "performance": "Performance",
        "security": "Security",
        "maintainability": "Maintainability",
        "compatibility": "Compatibility",
        "testing": "Test coverage",
    },
    risks_heading="⚠️ Potential risks",
    recommendations_heading="💡 Recommendations",
    recommendations_col_step="Area",
    recommendations_col_advice="Recommendation",
    no_commits="No commits in this window.",
    overview_heading="🧭 Overview",
    author="Author",
    details_button="Details",
    coverage_note="analysed {sent} of {total} files",
    fallback_note="LLM analysis failed; rule-based analysis shown",
    heuristic_note="rule-based analysis (no LLM)",
    rule_note="why this importance: {reason}",
    part="part {index}/{count}",
    generated_by="generated by digestbot",
)

SEVERITY_EMOJI: dict[Importance, str] = {
    Importance.HIGH: "🔴",
    Importance.MEDIUM: "🟡",
    Importance.LOW: "🟢",
}


def change_type_text(analysis: CommitAnalysis, labels: Labels) -> str:
    """The change type's name with its detail: "功能增强（新增 Ascend NPU 平台支持）"."""
    name = labels.change_type[analysis.change_type]
    detail = " ".join((analysis.change_type_detail or "").split())
    if not detail:
        return name
    return f"{name}（{detail}）" if labels.colon == "：" else f"{name} ({detail})"


def scope_text(entry: str, note: str, labels: Labels) -> str:
    """A scope entry with its note: "path（note）" / "path — note"."""
    note = " ".join(note.split())
    if not note:
        return entry
    return f"{entry}（{note}）" if labels.colon == "：" else f"{entry} — {note}"


def labels_for(language: Language) -> Labels:
    return ZH if language == "zh" else EN


# --- Chat cards (Slack, Feishu, Discord): words only the card renderers use. Added as a separate
# block so the Markdown renderer's additions above stay independent.


@dataclass(frozen=True)
class CardLabels:
    """Words of the chat-card renderers; `{…}` placeholders are filled by formatters."""

    partial_note: str  # shown before coverage notes when an analysis saw part of a commit
    files_line: str  # "{files} files +{additions} −{deletions}"
    low_in_thread: str  # "{count} …" where the low list went to the thread / next messages
    details_hint: str  # how to get a commit that is not expanded (a reply in the thread)
    # The same on Discord, where a reply without a mention reaches no bot: the Message Content
    # intent is off by default (https://discord.com/developers/docs/events/gateway#message-content-intent),
    # so only a message that mentions the bot carries its text.
    details_hint_mention: str
    omitted_commits: str  # "{count} more commits not shown ({breakdown})"
    rest_hint: str  # how to see the commits no message could list: "`digest {repo} {days}`"
    continued: str  # suffix of a heading continued from the previous message
    truncated: str  # end of a details view that did not fit
    fallback_count: str  # "{count} …" digest-level fallback note
    partial_count: str  # "{count} …" digest-level partial-analysis note
    heuristic_count: str  # "{count} …" digest-level rule-based note
    model_line: str  # "model {model} · prompt {prompt_version}"
    commit_title: str  # modal title "Commit {sha}"
    close: str
    details_panel: str  # Feishu collapsible panel title
    fold_panel: str  # Feishu panel holding folded commits: "{count} {importance} …"
    no_details: str  # a commit without insights, risks or recommendations
    more_items: str  # "{count} more" after a clipped list
    full_report: str = "Full report"  # the link to the digest's web page
    week_chart: str = "The week of {repo} ({days})"  # a weekly post's chart: title/caption
    # The chart's text alternative (screen readers, clients that do not show images).
    week_chart_alt: str = (
        "Commits per day by importance: {total} in all, {high} high, {medium} medium, {low} low"
    )


CARD_ZH = CardLabels(
    partial_note="部分分析",
    files_line="{files} 个文件 +{additions} −{deletions}",
    low_in_thread="{count} 个低重要度提交列在后续消息中",
    details_hint="回复 `details <sha>` 查看详情",
    details_hint_mention="@ 机器人查看详情：`@bot details <sha>`",
    omitted_commits="另有 {count} 个提交未在此显示（{breakdown}）",
    rest_hint="缩短时间范围即可看到：`digest {repo} {days}`",
    continued="（续）",
    truncated="内容过长，已截断",
    fallback_count="{count} 个提交的大模型分析失败，已使用规则分析",
    partial_count="{count} 个提交为部分分析",
    heuristic_count="{count} 个提交使用规则分析（未使用大模型）",
    model_line="模型 {model} · 提示词 {prompt_version}",
    commit_title="提交 {sha}",
    close="关闭",
    details_panel="🔍 详情：技术洞察、风险与建议",
    fold_panel="{count} 个{importance}重要度提交",
    no_details="暂无更多分析。",
    more_items="另有 {count} 项",
    full_report="完整报告",
    week_chart="{repo} 本周概览（{days}）",
    week_chart_alt="每日提交按重要度统计：共 {total} 个，高 {high}，中 {medium}，低 {low}",
)

CARD_EN = CardLabels(
    partial_note="partial analysis",
    files_line="{files} files +{additions} −{deletions}",
    low_in_thread="{count} low-importance commits are listed in the following messages",
    details_hint="reply `details <sha>` for details",
    details_hint_mention="mention the bot for details: `@bot details <sha>`",
    omitted_commits="{count} more commits not shown ({breakdown})",
    rest_hint="ask for a shorter window to see them: `digest {repo} {days}`",
    continued=" (continued)",
    truncated="too long, truncated",
    fallback_count="LLM analysis failed for {count} commits; rule-based analysis shown",
    partial_count="{count} commits analysed partially",
    heuristic_count="{count} commits analysed by rules (no LLM)",
    model_line="model {model} · prompt {prompt_version}",
    commit_title="Commit {sha}",
    close="Close",
    details_panel="🔍 Details: insights, risks, recommendations",
    fold_panel="{count} {importance}-importance commits",
    no_details="No further analysis.",
    more_items="{count} more",
)


def card_labels_for(language: Language) -> CardLabels:
    return CARD_ZH if language == "zh" else CARD_EN


# --- Alert cards: one card per alert (commits at or above a subscription's threshold as they
# landed), and the mark a daily digest puts on a commit an alert already announced.


@dataclass(frozen=True)
class AlertLabels:
    """Words of the alert cards; `{…}` placeholders are filled by formatters.alert_plan."""

    one: dict[Importance, str]  # heading of a one-commit alert: "High-importance commit in {repo}"
    several: str  # several commits, not from one push: "{count} commits in {repo}"
    folded: str  # one push (a burst) folded into one card: "{count} commits in {repo} (one push)"
    forced: str  # heading suffix when the branch was force-pushed
    more: str  # after the commits a folded card lists: "+{count} more"
    held_back: str  # "{count} more alerts held back{since} (quiet hours {quiet} · rate cap {cap})…"
    held_since: str  # the `{since}` part of held_back: " since {time}"
    alerted: str  # a digest commit an alert announced: "alerted {time}"


ALERT_ZH = AlertLabels(
    one={
        Importance.HIGH: "{repo} 有高重要度提交",
        Importance.MEDIUM: "{repo} 有中重要度提交",
        Importance.LOW: "{repo} 有低重要度提交",
    },
    several="{repo} 有 {count} 个提交",
    folded="{repo} 一次推送 {count} 个提交",
    forced="（强制推送）",
    more="另有 {count} 个提交",
    held_back=(
        "{since}另有 {count} 条提醒被暂缓（静默时段 {quiet} · 频率上限 {cap}），已收入每日摘要"
    ),
    held_since="自 {time} 起",
    alerted="已提醒 {time}",
)

ALERT_EN = AlertLabels(
    one={
        Importance.HIGH: "High-importance commit in {repo}",
        Importance.MEDIUM: "Medium-importance commit in {repo}",
        Importance.LOW: "Low-importance commit in {repo}",
    },
    several="{count} commits in {repo}",
    folded="{count} commits in {repo} (one push)",
    forced=" (force-push)",
    more="+{count} more",
    held_back=(
        "{count} more alerts held back{since} (quiet hours {quiet} · rate cap {cap}); "
        "they are in the daily digest"
    ),
    held_since=" since {time}",
    alerted="alerted {time}",
)


def alert_labels_for(language: Language) -> AlertLabels:
    return ALERT_ZH if language == "zh" else ALERT_EN


def alerted_text(item: DigestItem, language: Language, tz: str | None) -> str:
    """ "alerted 10:42" ("alerted 06-12 10:42" when the alert's local day is not the commit's)
    for a commit an alert announced, in `tz` (UTC, said so, when no zone is known); "" for
    any other commit."""
    if item.alerted_at is None:
        return ""
    when = clock_time(item.alerted_at, tz or "UTC", day_of=item.commit.committed_at)
    return alert_labels_for(language).alerted.format(time=when if tz else f"{when} UTC")
