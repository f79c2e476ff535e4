"""The wheel carries what the package needs at run time (prompts, schemas)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO, SEEDS


@pytest.mark.slow
def test_the_wheel_runs_from_outside_the_repository(tmp_path: Path) -> None:
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(tmp_path / "dist"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    [wheel] = (tmp_path / "dist").glob("summarizer-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "summarizer/_data/prompts/extract.toml" in names
    assert "summarizer/_data/schemas/document_summary.schema.json" in names
    target = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "SUMMARIZER_CACHE_DIR": str(tmp_path / "cache")}
    script = (
        "import summarizer, summarizer._prompts as p; "
        "print(summarizer.__file__); print(p.data_dir('prompts')); print(p.load_prompt('extract').version)"
    )
    check = subprocess.run(
        [sys.executable, "-c", script], cwd=outside, env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    module_file, prompts_dir, version = check.stdout.split()
    assert (
        module_file.startswith(str(target))
        and prompts_dir.startswith(str(target))
        and version == "2"
    )
    run = subprocess.run(
        [sys.executable, "-m", "summarizer", "run", str(SEEDS), "--out", str(outside / "out")],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert (outside / "out" / "summary.md").exists()
    schemas = subprocess.run(
        [
            sys.executable,
            "-m",
            "summarizer",
            "eval",
            "--engine",
            "replay",
            "--fixtures",
            str(REPO / "evals"),
        ],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert schemas.returncode == 0, schemas.stderr
