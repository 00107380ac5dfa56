"""The wheel carries what the installed tool needs: catalog and styles."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_ships_catalog_and_styles(tmp_path: Path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("llmkube_tui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "llmkube_tui/catalog.yaml" in names
    assert "llmkube_tui/styles/app.tcss" in names
    entry = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry[0]).decode()
    assert "llmkube-tui = llmkube_tui.cli:main" in text


def test_code_is_ruff_and_mypy_clean():
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "ruff", "check", "-q", str(REPO)], check=True, timeout=120)
    subprocess.run(
        [bin_dir / "mypy", "--no-error-summary", str(REPO / "llmkube_tui")],
        check=True,
        timeout=300,
        cwd=REPO,
    )
