"""Issue 13, item 7: an SBOM (CycloneDX) from the lock file, and bandit clean with its
findings triaged in place (RELIABILITY S11)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_sbom_lists_exactly_the_pins_of_the_lock_file(tmp_path: Path) -> None:
    out = tmp_path / "sbom.cdx.json"
    subprocess.run(
        [BIN / "cyclonedx-py", "requirements", "--output-reproducible", "--of", "JSON",
         "-o", out, ROOT / "requirements.lock"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    bom = json.loads(out.read_text())
    assert bom["bomFormat"] == "CycloneDX"
    listed = {(c["name"].lower().replace("_", "-"), c["version"]) for c in bom["components"]}
    pins = {
        (name.lower().replace("_", "-"), version)
        for name, version in re.findall(
            r"^([A-Za-z0-9_.\-]+)==(\S+)$", (ROOT / "requirements.lock").read_text(), re.M
        )
    }
    assert listed == pins


def test_bandit_has_no_untriaged_finding_in_app() -> None:
    result = subprocess.run(
        [BIN / "bandit", "-q", "-r", ROOT / "app", "-f", "json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["results"] == []
    assert result.returncode == 0
    # Every suppression names the test it silences (never a bare "# nosec").
    bare = [
        f"{path}:{n}"
        for path in (ROOT / "app").rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"#\s*nosec(?!\s+B\d{3})", line)
    ]
    assert bare == []
