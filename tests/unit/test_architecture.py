"""The import contract, checked with the tests: the `[tool.importlinter]` contracts in pyproject.toml
(no import circles anywhere, type-only imports included; the core never imports the UI; widgets
never import screens, providers or the store; screens reach history only through the service;
nothing below the service imports it; the layers from the command line down to providers and
history)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
