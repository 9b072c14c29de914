"""The Docker path, checked without a Docker engine: every path and command in the Dockerfile
(sources, install command, entry point, user, volume, health check, signal, port), the
compose file, and the wheel the image installs (built here from exactly what the Dockerfile
copies, then installed in a fresh virtualenv and run)."""

from __future__ import annotations

import asyncio
import fnmatch
import importlib
import importlib.util
import json
import re
import shlex
import shutil
import site
import socket
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from bot.config import Settings
from digestbot.serve import SHUTDOWN_TIMEOUT
from handlers.runtime.health import HEALTH_PATH, HealthCheck

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Instruction:
    stage: int  # 0-based index of the FROM it belongs to
    keyword: str
    args: str

    def words(self) -> list[str]:
        """The JSON (exec) form's items, else shell-like words without --flags."""
        if self.args.startswith("["):
            return [str(w) for w in json.loads(self.args)]
        return [w for w in shlex.split(self.args) if not w.startswith("--")]

    def flags(self) -> dict[str, str]:
        return dict(
            w[2:].split("=", 1) for w in shlex.split(self.args) if w.startswith("--") and "=" in w
        )


def parse_dockerfile(text: str) -> list[Instruction]:
    """Logical instructions (continuations joined, comments dropped), with their stage."""
    logical: list[str] = []
    buffer = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        logical.append(buffer + stripped)
        buffer = ""
    found: list[Instruction] = []
    stage = -1
    for entry in logical:
        keyword, _, args = entry.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        found.append(Instruction(stage, keyword.upper(), args.strip()))
    return found


INSTRUCTIONS = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
FINAL = max(i.stage for i in INSTRUCTIONS)


def runtime(keyword: str) -> list[Instruction]:
    return [i for i in INSTRUCTIONS if i.keyword == keyword and i.stage == FINAL]


def env() -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in runtime("ENV"):
        for word in shlex.split(instruction.args):
            key, _, value = word.partition("=")
            values[key] = value
    return values


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, simplified: a pattern matches the path or one of its parents."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(Path(prefix).name, bare):
                return True
    return False


def copy_sources() -> list[str]:
    """Sources of every COPY from the build context (not from another stage)."""
    sources: list[str] = []
    for instruction in INSTRUCTIONS:
        if instruction.keyword == "COPY" and "from" not in instruction.flags():
            sources += instruction.words()[:-1]
    return sources


# -- the Dockerfile ------------------------------------------------------------------------


def test_copied_sources_exist_and_are_in_the_build_context() -> None:
    sources = copy_sources()
    packages = {
        p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert {"pyproject.toml", "README.md", *packages} <= set(sources)
    patterns = dockerignore()
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source, patterns), f"{source} is excluded by .dockerignore"
    # Every package setuptools finds is copied, or the wheel would miss it.
    includes = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {p.rstrip("*") for p in includes} <= set(sources)


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    patterns = dockerignore()
    for path in (".env", ".git", "data", "digestbot.db", "tests", "bot/__pycache__"):
        assert ignored(path, patterns), path


def test_stages_and_the_install_command() -> None:
    stages = [i.words() for i in INSTRUCTIONS if i.keyword == "FROM"]
    names = {w[2] for w in stages if len(w) == 3 and w[1].upper() == "AS"}
    for instruction in INSTRUCTIONS:
        source_stage = instruction.flags().get("from")
        if instruction.keyword == "COPY" and source_stage is not None:
            assert source_stage in names
    # The image runs the Python the project supports.
    for words in stages:
        match = re.match(r"python:(\d+)\.(\d+)", words[0])
        assert match, words
        assert (3, 11) <= (int(match[1]), int(match[2])) < (3, 14)
    # Build: wheels of the project (`.`) with extras that exist; runtime: exactly those wheels.
    build = " ".join(i.args for i in INSTRUCTIONS if i.keyword == "RUN" and i.stage < FINAL)
    wheel = re.search(r"pip wheel .*--wheel-dir (\S+) \"?\.(?:\[([a-z,]+)\])?\"?", build)
    assert wheel, build
    wheel_dir, extras = wheel[1], set((wheel[2] or "").split(",")) - {""}
    assert extras <= set(PYPROJECT["project"]["optional-dependencies"])
    assert "postgres" in extras  # compose runs it against PostgreSQL
    copied = [i.words() for i in runtime("COPY") if i.flags().get("from")]
    assert [wheel_dir, wheel_dir] in copied
    install = " ".join(i.args for i in runtime("RUN"))
    assert f"pip install --no-cache-dir {wheel_dir}/*.whl" in install
    assert re.search(r"apt-get install .*\bgit\b", install)  # local repositories need git


def test_readme_installs_the_project_the_same_way() -> None:
    """The README's install command is pip on the project directory, like the image's build."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"pip install (?:-e )?[\"']?\.(?:\[([a-z,]+)\])?[\"']?(?:\s|$)", readme)
    assert commands, "README shows no `pip install` of the project"
    documented = {extra for group in commands for extra in group.split(",") if extra}
    assert documented <= set(PYPROJECT["project"]["optional-dependencies"])
    # digestbot is installed from its source tree (as the image does), not from a package
    # index: `pip install "digestbot[postgres]"` would fetch whatever PyPI has by that name.
    from_index = re.findall(r"pip install [^`\n]*?[\"']?digestbot\[[a-z,]+\][\"']?", readme)
    assert not from_index, f"README installs digestbot from an index: {from_index}"


def test_entrypoint_is_the_console_script_and_cmd_is_serve() -> None:
    (entrypoint,) = runtime("ENTRYPOINT")
    (cmd,) = runtime("CMD")
    assert entrypoint.args.startswith("[") and cmd.args.startswith("[")  # exec form: PID 1
    assert entrypoint.words() == ["digestbot"]
    target = PYPROJECT["project"]["scripts"]["digestbot"]
    module, _, function = target.partition(":")
    assert callable(getattr(importlib.import_module(module), function))
    assert cmd.words() == ["serve"]
    from digestbot.cli import _parser

    assert _parser().parse_args(cmd.words()).command == "serve"


def test_runs_as_a_non_root_user_with_data_in_the_volume() -> None:
    (user,) = runtime("USER")
    name = user.args.split(":")[0]
    assert name not in {"root", "0"}
    created = " ".join(i.args for i in runtime("RUN"))
    uid = re.search(rf"useradd .*--uid (\d+) {re.escape(name)}\b", created)
    assert uid and int(uid[1]) != 0
    assert re.search(rf"chown {re.escape(name)} /data", created)
    assert [i.words() for i in runtime("VOLUME")] == [["/data"]]
    values = env()
    assert values["DIGESTBOT_DATA_DIR"] == "/data"
    assert values["DIGESTBOT_CONFIG"].startswith("/data/")
    # Every ENV the image sets is a real setting (a typo would be silently ignored).
    fields = {name.upper() for name in Settings.model_fields}
    assert {k for k in values if not k.startswith("PYTHON")} <= fields
    # `digestbot serve` in the container must listen beyond the container's loopback.
    assert values["HTTP_HOST"] == "0.0.0.0"


def test_port_healthcheck_and_stop_signal_agree_with_serve() -> None:
    port = env()["HTTP_PORT"]
    assert [i.words() for i in runtime("EXPOSE")] == [[port]]
    (health,) = runtime("HEALTHCHECK")
    assert f"127.0.0.1:{port}{HEALTH_PATH}" in health.args
    assert [i.words() for i in runtime("STOPSIGNAL")] == [["SIGTERM"]]  # serve's graceful stop


def _healthcheck_command(port: int) -> str:
    (health,) = runtime("HEALTHCHECK")
    command = health.args.split(" CMD ", 1)[1]
    return command.replace(f"127.0.0.1:{env()['HTTP_PORT']}", f"127.0.0.1:{port}")


async def test_the_healthcheck_command_passes_on_200_and_fails_on_503() -> None:
    """Runs the HEALTHCHECK's own command (as Docker does, with /bin/sh) against a /healthz
    served by handlers.runtime.health."""
    state = {"up": True}
    app = web.Application()
    app.router.add_get(HEALTH_PATH, HealthCheck({"scheduler": lambda: state["up"]}).handle)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        command = _healthcheck_command(port).replace("python ", f"{sys.executable} ", 1)
        results = []
        for up in (True, False):
            state["up"] = up
            process = await asyncio.create_subprocess_shell(
                command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            results.append(await asyncio.wait_for(process.wait(), timeout=30))
    finally:
        await runner.cleanup()
    assert results[0] == 0 and results[1] != 0


# -- compose ---------------------------------------------------------------------------------


def compose() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_runs_the_bot_on_postgres() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    bot, postgres = services["bot"], services["postgres"]
    assert bot["build"] == "."
    url = bot["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in url  # the service name is the host
    assert postgres["healthcheck"]["test"]
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert any(str(v).endswith(":/data") for v in bot["volumes"])
    assert bot["env_file"] == ".env" and ".env" in dockerignore()


def test_compose_stop_grace_covers_serve_shutdown() -> None:
    grace = compose()["services"]["bot"]["stop_grace_period"]  # type: ignore[index]
    seconds = float(str(grace).split("#")[0].strip().rstrip("s"))
    assert seconds >= SHUTDOWN_TIMEOUT


# -- the wheel the image installs ------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built offline from a copy of exactly what the Dockerfile copies into its build stage."""
    builders = ("wheel", "setuptools.command.bdist_wheel")  # the latter in setuptools >= 70.1
    if all(importlib.util.find_spec(name) is None for name in builders):
        pytest.skip('needs the wheel package (pip install -e ".[dev]")')
    context = tmp_path_factory.mktemp("context")
    for source in copy_sources():
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(
                path, context / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(path, context / source)
    out = tmp_path_factory.mktemp("wheels")
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--quiet",
        str(context),
        "-w",
        str(out),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    (built,) = out.glob("digestbot-*.whl")
    return built


def test_wheel_carries_every_prompt_template_and_the_entry_point(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {
        p.relative_to(ROOT).as_posix() for p in (ROOT / "bot/analysis/prompts").rglob("*.j2")
    }
    assert templates and any("answer_" in t for t in templates)
    assert templates <= names, sorted(templates - names)
    sql = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bot/storage").glob("*.sql")}
    assert sql <= names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "digestbot = digestbot.cli:entry" in text


def this_environment_site_dirs() -> list[str]:
    """The directories this interpreter imports its packages from: its virtualenv's
    site-packages (or the system's, when packages are installed system-wide), the base
    interpreter's when the virtualenv includes them, and the user's. Not the source tree, not
    the standard library (a new virtualenv has its own)."""
    found = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        found.append(site.getusersitepackages())
    found += [p for p in sys.path if Path(p).name in {"site-packages", "dist-packages"}]
    return [d for d in dict.fromkeys(found) if Path(d).is_dir() and Path(d).resolve() != ROOT]


def test_installed_wheel_runs_its_console_script(wheel: Path, tmp_path: Path) -> None:
    """What the runtime stage does (`pip install /wheels/*.whl`, ENTRYPOINT digestbot), in a
    new virtualenv, offline. Its dependencies are the ones this interpreter runs the tests
    with, wherever they are installed (system-wide, or in a virtualenv, where
    `--system-site-packages` would only reach the base interpreter's packages): a `.pth` file
    appends their directories after the virtualenv's own site-packages, so the wheel's copy of
    digestbot comes first and its dependencies are found."""
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    # Plain directory lines: the .pth files inside them (an editable install of this source
    # tree among them) are not processed, so nothing but the wheel brings digestbot in.
    (Path(purelib) / "_this_environment.pth").write_text(
        "\n".join(this_environment_site_dirs()) + "\n", encoding="utf-8"
    )
    # pip from this environment (the .pth makes it importable), installing into the new one.
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    missing = subprocess.run(
        [str(python), "-m", "pip", "check"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "digestbot" not in missing.stdout, missing.stdout  # every dependency is found
    probe = (
        "import bot, bot.analysis.prompt_templates as t;"
        "print(bot.__file__);"
        "print(sorted(p.name for p in t.PROMPTS_DIR.rglob('*.j2')))"
    )
    shown = subprocess.run(
        [str(python), "-c", probe],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert str(venv) in shown.splitlines()[0]  # the installed copy, not the source tree
    assert "system.j2" in shown and "overview.j2" in shown
    clean_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DIGESTBOT_DATA_DIR": str(tmp_path / "data"),
    }
    doctor = subprocess.run(
        [str(venv / "bin" / "digestbot"), "doctor"],
        cwd=tmp_path,
        check=False,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "✓ database" in doctor.stdout
