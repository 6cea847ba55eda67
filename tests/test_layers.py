"""`make lint` holds the layers: a copy of the code with one import that breaks a layer fails import-linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hub", "sources", "quality", "transforms", "exports")


def lint(tree: Path) -> subprocess.CompletedProcess:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=tree, capture_output=True, text=True, env={"PYTHONPATH": str(tree)}
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("quality/masking.py", "import hub.storage", "Layers"),
        ("transforms/survivorship.py", "import sources.landing", "Layers"),
        ("exports/receipts.py", "import sources.landing", "Layers"),
        ("sources/landing.py", "import transforms.survivorship", "Connectors land rows"),
        ("hub/storage.py", "import hub.golden", "No import cycle"),
    ],
)
def test_an_import_that_breaks_a_layer_fails_the_lint(tree: Path, module: str, bad_import: str, contract: str):
    assert lint(tree).returncode == 0, "the code as it is keeps every contract"
    path = tree / module
    path.write_text(path.read_text() + f"\n{bad_import}  # noqa\n")
    broken = lint(tree)
    assert broken.returncode != 0
    assert f"{contract}" in broken.stdout and "BROKEN" in broken.stdout
