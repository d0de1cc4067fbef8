"""10,000 generated claims settle identically through `evaluate_many` and `rulec eval --batch`,
routed by region over every shipped ruleset; failures are values with the CLI's codes,
messages and line numbers."""

from __future__ import annotations

import json

import pytest

import rulec
from claimgen import write_jsonl
from conftest import ROOT, as_json, error_summary, run_cli

N = 10_000


@pytest.fixture(scope="module")
def claims_file(tmp_path_factory):
    return write_jsonl(tmp_path_factory.mktemp("claims") / "claims.jsonl", N, seed=7)


@pytest.fixture(scope="module")
def batch_lines(claims_file):
    proc = run_cli("eval", "--rulesets", str(ROOT / "rulesets"), "--batch", str(claims_file), "--jobs", "2")
    lines = proc.stdout.splitlines()
    assert len(lines) == N, proc.stderr
    return [json.loads(line) for line in lines]


def compare(results, batch_lines):
    settled = failed = 0
    for i, (got, want) in enumerate(zip(results, batch_lines), start=1):
        if isinstance(got, rulec.RuleError):
            failed += 1
            assert "error" in want, f"line {i}: {got} but the CLI settled it"
            assert got.input_line == i == want["line"]
            assert got.claim_id == want.get("claim_id"), f"line {i}"
            assert error_summary(got.diagnostics) == error_summary(want["error"]), f"line {i}"
        else:
            settled += 1
            assert "error" not in want, f"line {i}: settled, but the CLI failed: {want}"
            assert as_json(got) == want, f"line {i}"
            assert list(got) == list(want), f"line {i}: key order"
    return settled, failed


@pytest.mark.parametrize("jobs", [1, 2])
def test_evaluate_many_equals_batch(claims_file, batch_lines, jobs):
    router = rulec.Router.load(ROOT / "rulesets")
    with open(claims_file, encoding="utf-8") as f:
        results = list(router.evaluate_many(f, jobs=jobs))
    assert len(results) == N
    settled, failed = compare(results, batch_lines)
    # the generated claims exercise both paths, mostly settling
    assert settled > N * 0.8
    assert failed > 0


def test_evaluate_many_is_lazy_and_ordered(claims_file, batch_lines):
    router = rulec.Router.load(ROOT / "rulesets")

    pulled = 0

    def source():
        nonlocal pulled
        with open(claims_file, "rb") as f:  # bytes lines work too
            for line in f:
                pulled += 1
                yield line

    it = router.evaluate_many(source(), jobs=2)
    first = next(it)
    # at most two blocks are read ahead of what was consumed
    assert pulled <= 2 * 2048 * 2
    rest = list(it)
    assert pulled == N
    compare([first, *rest], batch_lines)


def test_evaluate_many_with_one_ruleset_equals_batch(tmp_path):
    """A single ruleset (no routing), as `rulec eval DIR --batch`."""
    dir_ = ROOT / "rulesets" / "shandong" / "binzhou"
    rs = rulec.Ruleset.load(dir_)
    claims = [
        c for c in __import__("claimgen").claims(3000, seed=3)
        if c["insured"]["region"] == "shandong/binzhou"
    ]
    assert len(claims) > 100
    path = tmp_path / "bz.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in claims), encoding="utf-8")
    proc = run_cli("eval", str(dir_), "--batch", str(path), "--jobs", "2")
    want = [json.loads(line) for line in proc.stdout.splitlines()]
    # dicts straight from Python go through the same exact conversion as text
    got = list(rs.evaluate_many(claims, jobs=2))
    assert len(got) == len(want) == len(claims)
    compare(got, want)
