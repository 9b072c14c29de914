"""Repository resolution: aliases, owner/name validation, local paths, allowlist."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.analysis.paths import PathRoles
from bot.config import AccessConfig, AppConfig, PathRolesConfig, RepoConfig
from bot.errors import DigestbotError, InvalidInputError, RepoNotAllowedError, UnknownRepoError
from bot.repos import RepoResolver, origin_github_name
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
    with pytest.raises(InvalidInputError) as err:
        RepoResolver(CONFIG).resolve(str(tmp_path))  # a directory that is no checkout
    assert err.value.user_message == (
        f"'{tmp_path}' is not a git repository (or a subfolder of one)."
    )


def test_a_subfolder_resolves_to_its_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cd bot && digestbot digest .` reads the whole checkout, as git itself would."""
    GitRepoBuilder(tmp_path / "proj")
    (tmp_path / "proj" / "src" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "proj" / "src" / "deep")
    for text in (".", "..", "./", str(tmp_path / "proj" / "src")):
        target = RepoResolver(CONFIG).resolve(text)
        assert (target.name, target.path) == ("proj", (tmp_path / "proj").resolve())
    monkeypatch.chdir(tmp_path / "proj")
    assert RepoResolver(CONFIG).resolve("src").path == (tmp_path / "proj").resolve()


def test_a_configured_checkout_is_found_from_its_subfolder(tmp_path: Path) -> None:
    GitRepoBuilder(tmp_path / "proj")
    (tmp_path / "proj" / "docs").mkdir()
    config = AppConfig(repos=(RepoConfig(name="mine", path=tmp_path / "proj"),))
    assert RepoResolver(config).resolve(str(tmp_path / "proj" / "docs")).name == "mine"


def test_paths_that_are_no_checkout_say_what_they_are(tmp_path: Path) -> None:
    resolver = RepoResolver(CONFIG)
    (tmp_path / "plain").mkdir()
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    cases = {
        "plain": "is not a git repository (or a subfolder of one).",
        "missing": "does not exist.",
        "file.txt": "is not a directory.",
    }
    for name, message in cases.items():
        with pytest.raises(InvalidInputError) as err:
            resolver.resolve(str(tmp_path / name))
        assert err.value.user_message == f"'{tmp_path / name}' {message}"


def test_a_bare_repository_is_its_own_root(tmp_path: Path) -> None:
    bare = tmp_path / "proj.git"
    GitRepoBuilder(tmp_path / "proj").git("clone", "-q", "--bare", ".", str(bare))
    assert RepoResolver(CONFIG).resolve(str(bare)).path == bare.resolve()
    assert RepoResolver(CONFIG).resolve(str(bare / "refs")).path == bare.resolve()


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/sgl-project/sglang",
        "https://github.com/sgl-project/sglang.git",
        "https://github.com/sgl-project/sglang/",
        "https://x-access-token:ghs_abc@github.com/sgl-project/sglang.git",
        "http://github.com/sgl-project/sglang",
        "git@github.com:sgl-project/sglang.git",
        "git@github.com:sgl-project/sglang",
        "ssh://git@github.com/sgl-project/sglang.git",
        "ssh://git@github.com:22/sgl-project/sglang.git",
        "git://github.com/sgl-project/sglang.git",
        "GitHub.com:sgl-project/sglang.git",
    ],
)
def test_a_checkout_is_named_after_its_github_origin(tmp_path: Path, url: str) -> None:
    builder = GitRepoBuilder(tmp_path / "folder")
    builder.git("remote", "add", "origin", url)
    assert origin_github_name(builder.path) == "sgl-project/sglang"
    target = RepoResolver(CONFIG).resolve(str(builder.path))
    assert (target.name, target.kind) == ("sgl-project/sglang", "local")
    assert target.key == f"local:{builder.path.resolve()}"  # the cache stays per checkout


@pytest.mark.parametrize(
    "url",
    [
        "https://gitlab.com/sgl-project/sglang.git",
        "git@gitlab.com:sgl-project/sglang.git",
        "https://github.com.evil.example/a/b",
        "https://github.com/only-owner",
        "/srv/git/sglang.git",
    ],
)
def test_other_origins_keep_the_folder_name(tmp_path: Path, url: str) -> None:
    builder = GitRepoBuilder(tmp_path / "folder")
    builder.git("remote", "add", "origin", url)
    assert origin_github_name(builder.path) is None
    assert RepoResolver(CONFIG).resolve(str(builder.path)).name == "folder"


def test_a_worktree_reads_the_origin_of_its_repository(tmp_path: Path) -> None:
    builder = GitRepoBuilder(tmp_path / "main")
    builder.commit("one", {"a": "1"}, when=datetime(2026, 1, 1, tzinfo=UTC))
    builder.git("remote", "add", "origin", "git@github.com:acme/widget.git")
    builder.git("worktree", "add", "-q", str(tmp_path / "wt"), "-b", "side")
    target = RepoResolver(CONFIG).resolve(str(tmp_path / "wt"))
    assert (target.name, target.path) == ("acme/widget", (tmp_path / "wt").resolve())


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
