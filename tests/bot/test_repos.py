"""Repository resolution: aliases, owner/name validation, local paths, allowlist."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.analysis.paths import PathRoles
from bot.config import AccessConfig, AppConfig, PathRolesConfig, RepoConfig
from bot.errors import DigestbotError, InvalidInputError, RepoNotAllowedError, UnknownRepoError
from bot.repos import RepoResolver
from tests.fakes.git_repo import GitRepoBuilder

CONFIG = AppConfig(
    repos=(
        RepoConfig(
            name="sgl-project/sglang",
            aliases=("sglang", "sgl"),
            branch="main",
            components={"python/sglang/srt/**": "runtime"},
            paths=PathRolesConfig(public_api=("python/sglang/srt/entrypoints/**",)),
        ),
        RepoConfig(name="vllm-project/vllm", aliases=("vllm",)),
    )
)


def test_alias_and_full_name_resolve_to_the_configured_entry() -> None:
    resolver = RepoResolver(CONFIG)
    for text in ("sglang", "SGL", "sgl-project/sglang", " sglang "):
        target = resolver.resolve(text)
        assert (target.kind, target.name, target.branch) == ("github", "sgl-project/sglang", "main")
        assert target.components == {"python/sglang/srt/**": "runtime"}
        roles = PathRoles.of(target.paths)
        assert roles.is_public_api("python/sglang/srt/entrypoints/engine.py")
        assert not roles.is_public_api("python/sglang/srt/layers/linear.py")


def test_unknown_alias_suggests_close_names() -> None:
    with pytest.raises(UnknownRepoError) as err:
        RepoResolver(CONFIG).resolve("sglng")
    assert "sglang" in err.value.suggestions
    assert "Did you mean" in err.value.user_message


@pytest.mark.parametrize(
    "bad", ["a/b/c", "-x/y", "owner/", "/etc/passwd?", "o/r;rm", "x" * 40 + "/y"]
)
def test_invalid_owner_name(bad: str) -> None:
    with pytest.raises((InvalidInputError, UnknownRepoError)):
        RepoResolver(CONFIG).resolve(bad, for_chat=True)


def test_github_url_is_accepted() -> None:
    assert (
        RepoResolver(CONFIG).resolve("https://github.com/vllm-project/vllm.git").name
        == "vllm-project/vllm"
    )


def test_chat_users_stay_on_the_allowlist_and_off_local_paths(tmp_path: Path) -> None:
    resolver = RepoResolver(CONFIG)
    with pytest.raises(RepoNotAllowedError):
        resolver.resolve("torvalds/linux", for_chat=True)
    assert resolver.resolve("torvalds/linux").name == "torvalds/linux"  # the CLI may
    with pytest.raises(InvalidInputError):
        resolver.resolve(str(tmp_path), for_chat=True)
    open_bot = RepoResolver(AppConfig(access=AccessConfig(allow_any_public_repo=True)))
    assert open_bot.resolve("torvalds/linux", for_chat=True).name == "torvalds/linux"
    listed = RepoResolver(AppConfig(access=AccessConfig(allowed_repos=("torvalds/linux",))))
    assert listed.resolve("torvalds/linux", for_chat=True).kind == "github"


def test_local_checkout(tmp_path: Path) -> None:
    GitRepoBuilder(tmp_path / "proj")
    target = RepoResolver(CONFIG).resolve(str(tmp_path / "proj"))
    assert (target.kind, target.name, target.path) == (
        "local",
        "proj",
        (tmp_path / "proj").resolve(),
    )
    assert target.key == f"local:{(tmp_path / 'proj').resolve()}"
    with pytest.raises(UnknownRepoError):
        RepoResolver(CONFIG).resolve(str(tmp_path))  # a directory that is no checkout


def test_configured_local_path_keeps_its_settings(tmp_path: Path) -> None:
    GitRepoBuilder(tmp_path / "proj")
    config = AppConfig(
        repos=(
            RepoConfig(
                name="mine", aliases=("m",), path=tmp_path / "proj", exclude_authors=("bot",)
            ),
        )
    )
    resolver = RepoResolver(config)
    assert resolver.resolve("m").exclude_authors == ("bot",)
    assert resolver.resolve(str(tmp_path / "proj")).name == "mine"
    assert resolver.names() == ["m", "mine"]


@given(st.text(max_size=200))
def test_any_text_resolves_or_fails_cleanly(text: str) -> None:
    try:
        RepoResolver(CONFIG).resolve(text, for_chat=True)
    except DigestbotError as exc:
        assert 0 < len(exc.user_message) <= 200
