"""The atheris harness (tests/fuzz/atheris_parsers.py), bounded for CI: a few thousand fuzzed
request bodies through the request models, the engine and the answer models, and no crash
other than a validation error or an engine refusal (issue 13). ATHERIS_RUNS sets the budget."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.fuzz

HARNESS = Path(__file__).with_name("atheris_parsers.py")
RUNS = int(os.environ.get("ATHERIS_RUNS", "3000"))


def test_the_request_parsers_survive_fuzzed_bodies() -> None:
    root = Path(__file__).resolve().parents[2]
    completed = subprocess.run(
        [sys.executable, str(HARNESS), f"-runs={RUNS}", "-seed=20261206", "-max_len=1024",
         "-len_control=0"],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True,
        timeout=900, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert f"Done {RUNS} runs" in completed.stderr
