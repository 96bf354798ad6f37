"""The layer contract (pyproject's ``[tool.importlinter]``, checked by ``make lint``): kept by
the code as it is, and broken by an import that reaches up a layer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(REPO / "pyproject.toml")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_package(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "monitor", tmp_path / "monitor", ignore=shutil.ignore_patterns("*.pyc"))
    return tmp_path


def test_the_package_keeps_its_layers(tmp_path: Path) -> None:
    done = lint_imports(copy_package(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """The store importing from notify (a layer above it) is named as the broken import."""
    root = copy_package(tmp_path)
    models = root / "monitor" / "store" / "models.py"
    models.write_text(models.read_text() + "\nfrom monitor.notify import render  # noqa\n")
    done = lint_imports(root)
    assert done.returncode != 0
    assert "0 kept, 1 broken" in done.stdout
    assert "monitor.store.models -> monitor.notify.render" in done.stdout
