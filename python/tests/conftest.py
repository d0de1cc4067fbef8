"""Shared fixtures: the repository root, the `rulec` binary, and conversions for comparing
Python results with the CLI's JSON."""

from __future__ import annotations

import decimal
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def rulec_bin() -> Path:
    """The CLI to compare with: $RULEC_BIN, else the release build of this checkout."""
    given = os.environ.get("RULEC_BIN")
    path = Path(given) if given else ROOT / "target" / "release" / "rulec"
    if not path.exists():
        raise RuntimeError(
            f"{path} does not exist: run `cargo build --release` first (or set RULEC_BIN)"
        )
    return path


def run_cli(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(rulec_bin()), *args], capture_output=True, text=True, cwd=ROOT, check=check
    )


def as_json(value: Any) -> Any:
    """A Python settlement as the CLI prints it: decimals back to their exact text.

    Refuses floats, so a test comparing through this function also proves none appeared."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, float):
        raise AssertionError(f"a float in a result: {value!r}")
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    return value


def error_summary(diags: List[Any]) -> List[tuple]:
    """(code, message) of each diagnostic, from RuleError.diagnostics or the CLI's JSON."""
    out = []
    for d in diags:
        if isinstance(d, dict):
            out.append((d["code"], d["message"]))
        else:
            out.append((d.code, d.message))
    return out


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cli() -> Any:
    rulec_bin()
    return run_cli


def load_cases():
    """Every shipped test case: (ruleset dir, file, case)."""
    found = []
    for f in sorted(RULESETS.glob("**/tests/*.json")):
        cases = json.loads(f.read_text(encoding="utf-8"))
        for case in cases if isinstance(cases, list) else [cases]:
            found.append((f.parent.parent, f, case))
    return found
