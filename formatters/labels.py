"""Every user-visible label of the renderers, in Chinese and English (the reference's wording)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import ChangeType, Importance, Language


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
    more_commits: str  # "{count} more low-importance commits"
    part: str  # "part {index}/{count}"
    generated_by: str


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
    change_type={
        ChangeType.FEATURE: "功能增强",
        ChangeType.FIX: "Bug 修复",
        ChangeType.REFACTOR: "代码重构",
        ChangeType.PERF: "性能优化",
        ChangeType.DOCS: "文档更新",
        ChangeType.TEST: "测试",
        ChangeType.CI: "配置调整",
        ChangeType.BUILD: "构建与依赖",
        ChangeType.CHORE: "日常维护",
        ChangeType.REVERT: "回滚",
        ChangeType.SECURITY: "安全修复",
    },
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
    more_commits="另有 {count} 个低重要度提交未展开",
    part="第 {index}/{count} 部分",
    generated_by="由 digestbot 生成",
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
    change_type={
        ChangeType.FEATURE: "Feature",
        ChangeType.FIX: "Bug fix",
        ChangeType.REFACTOR: "Refactor",
        ChangeType.PERF: "Performance",
        ChangeType.DOCS: "Docs",
        ChangeType.TEST: "Tests",
        ChangeType.CI: "CI / config",
        ChangeType.BUILD: "Build & deps",
        ChangeType.CHORE: "Chore",
        ChangeType.REVERT: "Revert",
        ChangeType.SECURITY: "Security fix",
    },
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
    more_commits="{count} more low-importance commits not expanded",
    part="part {index}/{count}",
    generated_by="generated by digestbot",
)

SEVERITY_EMOJI: dict[Importance, str] = {
    Importance.HIGH: "🔴",
    Importance.MEDIUM: "🟡",
    Importance.LOW: "🟢",
}


def labels_for(language: Language) -> Labels:
    return ZH if language == "zh" else EN
