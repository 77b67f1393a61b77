"""TITRATE_EHRS as the README's worked example writes it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_configures_one_ehr(monkeypatch: pytest.MonkeyPatch) -> None:
    block = re.search(r"TITRATE_EHRS='(\[.*?\])'", README.read_text("utf-8"), re.S)
    assert block is not None
    monkeypatch.setenv("TITRATE_EHRS", block.group(1))
    monkeypatch.setenv("TITRATE_PUBLIC_URL", "https://titrate.example.org")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    ward = settings.ehr("ward")
    assert ward is not None
    assert ward.fhir_base == "https://ehr.example.org/fhir/R4"
    assert ward.users["Practitioner/4711"] == "paula.prescriber"
    assert ward.backend_private_key_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert settings.ehr("elsewhere") is None


def test_an_ehr_id_must_be_a_short_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "TITRATE_EHRS", '[{"id": "Ward 1", "issuer": "i", "fhir_base": "f", "mrn_system": "m"}]'
    )
    with pytest.raises(ValueError, match="id"):
        Settings(_env_file=None)  # type: ignore[call-arg]
