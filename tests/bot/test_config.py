"""Settings from the environment and .env, and the TOML config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings, load_app_config, secret_values, url_passwords
from bot.errors import ConfigError


def test_settings_from_env_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("GITHUB_TOKEN=ghp_fromdotenv\nLLM_MODEL=qwen-plus\n")
    monkeypatch.setenv("LLM_MODEL", "deepseek-chat")  # the environment wins over .env
    monkeypatch.setenv("DIGESTBOT_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    assert settings.github_token is not None
    assert settings.github_token.get_secret_value() == "ghp_fromdotenv"
    assert "ghp_fromdotenv" not in repr(settings)
    assert settings.llm_model == "deepseek-chat"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'digestbot.db'}"
    assert not settings.llm_enabled


def test_toml_config(tmp_path: Path) -> None:
    (tmp_path / "checkout").mkdir()
    path = tmp_path / "digestbot.toml"
    path.write_text(
        """
[defaults]
timezone = "Asia/Shanghai"
language = "zh"

[[repos]]
name = "sgl-project/sglang"
aliases = ["sglang"]
components = { "python/sglang/srt/layers/**" = "layers" }

[repos.paths]
kernels = ["sgl-kernel/csrc/**"]
public_api = ["python/sglang/srt/entrypoints/**", "python/sglang/__init__.py"]

[[repos]]
name = "local-one"
path = "checkout"
""",
        encoding="utf-8",
    )
    config = load_app_config(path)
    assert config.defaults.timezone == "Asia/Shanghai"
    assert config.repos[0].aliases == ("sglang",)
    assert config.repos[1].path == (tmp_path / "checkout").resolve()
    assert config.repos[0].paths.kernels == ("sgl-kernel/csrc/**",)
    assert config.repos[1].paths.public_api == ()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[defaults]\ntimezone = 'Nowhere/City'\n", "time zone"),
        ("[[repos]]\nnam = 'x'\n", "repos.0"),
        ("this is not toml", "Cannot read"),
    ],
)
def test_bad_config_files(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_app_config(path)
    assert fragment in err.value.user_message


def test_missing_named_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_app_config(tmp_path / "nope.toml")
    assert load_app_config(None).repos == ()


def test_the_example_config_loads_and_tunes_path_roles() -> None:
    example = Path(__file__).resolve().parents[2] / "digestbot.example.toml"
    config = load_app_config(example)
    sglang = config.repos[0]
    assert sglang.name == "sgl-project/sglang"
    assert "python/sglang/srt/entrypoints/**" in sglang.paths.public_api


def test_the_database_password_is_a_secret_to_redact() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="postgresql+psycopg://bot:p%40ss-w0rd-long@db:5432/digestbot",
        openai_api_key="sk-test-0123456789abcdef",
    )
    assert secret_values(settings) == [
        "sk-test-0123456789abcdef",
        "p%40ss-w0rd-long",
        "p@ss-w0rd-long",
    ]
    assert url_passwords("sqlite:////data/digestbot.db") == []
    assert url_passwords("postgresql://bot@db/x") == []
    assert url_passwords("postgresql://bot:[bad@db/x") in ([], ["[bad"])  # never raises
