"""What an installed copy carries. The wheel is built from a copy of the sources, installed into a
new venv outside the checkout, and run from there: the bundled themes, the styles and the demo must
all come from the wheel (an editable install finds them in the checkout and hides their absence)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", ".ci-venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "bench", "tests"
)


def test_every_package_folder_is_listed_for_the_build() -> None:
    listed = set(tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(CHECKOUT).parts)
        for init in (CHECKOUT / "devic_tui").rglob("__init__.py")
    }
    assert listed == on_disk | {"devic_tui.bundled_themes"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    sources = work / "src"
    shutil.copytree(CHECKOUT, sources, ignore=NOT_SOURCES)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(work / "dist"),
            str(sources),
        ],
        check=True,
        timeout=300,
    )
    (built,) = (work / "dist").glob("devic_tui-*.whl")
    return built


def test_the_wheel_carries_themes_styles_license_and_its_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    assert {
        "devic_tui/bundled_themes/devic-midnight.toml",
        "devic_tui/bundled_themes/devic-paper.toml",
    } <= names
    assert {"devic_tui/app.tcss", "devic_tui/py.typed"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert metadata["License-Expression"] == "MIT"
    required = {
        line.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip()
        for line in metadata.get_all("Requires-Dist", [])
    }
    assert {"textual", "httpx", "rich", "markdown-it-py"} <= required


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding the wheel; its dependencies are lent by this interpreter's site-packages
    (through a .pth file added after the install) so the test needs no network."""
    home = tmp_path_factory.mktemp("installed")
    venv.create(home / "venv", with_pip=False, symlinks=os.name != "nt")
    bin_dir = home / "venv" / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "lent_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return bin_dir


def run_installed(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DEVIC_TUI_", "PYTHON"))}
    env.update(
        {
            "HOME": str(cwd),
            "XDG_CONFIG_HOME": str(cwd / "config"),
            "XDG_DATA_HOME": str(cwd / "data"),
            "XDG_STATE_HOME": str(cwd / "state"),
            "XDG_CACHE_HOME": str(cwd / "cache"),
        }
    )
    return subprocess.run(
        list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_installed_copy_lists_the_bundled_themes(installed: Path, tmp_path: Path) -> None:
    script = (
        "import devic_tui, devic_tui.themes as t; print(devic_tui.__file__); "
        "print(' '.join(sorted(theme.name for theme in t.load_theme_files()[0])))"
    )
    done = run_installed(installed, str(installed / "python"), "-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    where, themes = done.stdout.splitlines()
    assert not Path(where).is_relative_to(CHECKOUT)
    assert themes.split() == ["devic-midnight", "devic-paper"]


def test_the_installed_command_answers_from_the_demo(installed: Path, tmp_path: Path) -> None:
    done = run_installed(
        installed, str(installed / "devic-tui"), "--demo", "ask", "hello from the wheel", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "hello from the wheel" in done.stdout
    version = run_installed(installed, str(installed / "devic-tui"), "--version", cwd=tmp_path)
    assert version.stdout.startswith("devic-tui ")
