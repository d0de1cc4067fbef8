"""Parity with the CLI on every shipped test case (rulesets/*/tests/*.json).

For each case the package and `rulec eval` settle the same claim: the settlement (amounts as
Decimal, converted back to text) equals the CLI's JSON key for key, an error renders exactly
as the CLI prints it, `trace()` equals `--trace json` and `explain()` equals the text after the
settlement in `--explain`. The case's own expectations must hold too."""

from __future__ import annotations

import decimal
import functools
import json
from pathlib import Path

import pytest

import rulec
from conftest import ROOT, as_json, load_cases, run_cli

CASES = load_cases()


@functools.lru_cache(maxsize=None)
def ruleset(dir_: Path) -> rulec.Ruleset:
    return rulec.Ruleset.load(dir_)


def lookup(settlement: dict, path: str):
    cur = settlement
    for part in path.split("."):
        cur = cur[part]
    return cur


def find_node(nodes, name):
    for n in nodes:
        if n["name"] == name and n.get("note") != "computed above":
            return n
        hit = find_node(n.get("children", []), name)
        if hit is not None:
            return hit
    return None


def same(expected, actual) -> bool:
    e = expected if isinstance(expected, str) else json.dumps(expected)
    a = actual if isinstance(actual, str) else str(actual)
    if e == a:
        return True
    try:
        return decimal.Decimal(e) == decimal.Decimal(a)
    except (decimal.InvalidOperation, ValueError):
        return False


def test_there_are_cases():
    assert len(CASES) >= 90
    assert len({d for d, _, _ in CASES}) >= 8


@pytest.mark.parametrize(
    "dir_,file,case",
    CASES,
    ids=[f"{f.relative_to(ROOT)}::{c['name']}" for _, f, c in CASES],
)
def test_case_matches_cli(dir_, file, case, tmp_path, cli):
    rs = ruleset(dir_)
    claim_file = tmp_path / "claim.json"
    claim_file.write_text(json.dumps(case["claim"], ensure_ascii=False), encoding="utf-8")
    extra = ["--as-of", case["as_of"]] if "as_of" in case else []
    as_of = case.get("as_of")
    proc = cli("eval", str(dir_), str(claim_file), *extra)

    try:
        got = rs.evaluate(case["claim"], as_of=as_of)
    except rulec.RuleError as e:
        assert proc.returncode == 1, proc.stdout
        assert e.rendered == proc.stderr
        assert "expect_error" in case, f"unexpected error: {e.rendered}"
        want = case["expect_error"]
        assert any(d.code == want["code"] for d in e.diagnostics)
        assert e.code == want["code"]
        if "message" in want:
            assert want["message"] in e.message
        # the same claim as JSON text fails the same way
        with pytest.raises(rulec.RuleError) as again:
            rs.evaluate(json.dumps(case["claim"]), as_of=as_of)
        assert again.value == e
        return

    assert proc.returncode == 0, proc.stderr
    assert as_json(got) == json.loads(proc.stdout)
    assert list(got) == list(json.loads(proc.stdout))  # same key order
    assert "expect_error" not in case
    for path, want in case.get("expect", {}).items():
        value = lookup(got, path)
        assert same(want, value), f"{path}: expected {want}, got {value}"
        if isinstance(value, str):
            continue
        assert not isinstance(value, float)

    traced = rs.trace(case["claim"], as_of=as_of)
    proc = cli("eval", str(dir_), str(claim_file), "--trace", "json", *extra)
    assert as_json(traced) == json.loads(proc.stdout)
    for name, want in case.get("expect_values", {}).items():
        node = find_node(traced["trace"], name)
        assert node is not None and same(want, node["value"]), name

    text = rs.explain(case["claim"], as_of=as_of)
    proc = cli("eval", str(dir_), str(claim_file), "--explain", *extra)
    settlement_text, _, explanation = proc.stdout.partition("\n\n")
    assert json.loads(settlement_text) == as_json(got)
    assert text == explanation
