"""Both Spark examples in local[2] mode on 10,000 claims, checked against the CLI:
settle.py equals `rulec eval --batch` claim for claim (one claim per person, so there is
nothing to thread) and equals the package's replay when persons have many claims, whose fund
totals equal `rulec impact`'s; impact.py's figures equal `rulec impact --format json`."""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import rulec

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "python" / "tests"))
from claimgen import write_jsonl  # noqa: E402

N = 10_000
RULEC = os.environ.get("RULEC_BIN", str(ROOT / "target" / "release" / "rulec"))


def spark(script: str, *args: str) -> None:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    subprocess.run([sys.executable, str(HERE / script), "--master", "local[2]", *args],
                   check=True, env=env, cwd=ROOT)


def read_rows(path: Path) -> dict:
    table = pq.read_table(path)
    assert str(table.schema.field("fund_pays").type) == "decimal128(18, 2)"
    item = table.schema.field("funds").type.item_type
    assert (item.precision, item.scale) == (18, 2)
    rows = {r["claim_id"]: r for r in table.to_pylist()}
    assert len(rows) == table.num_rows
    return rows


def check_row(row: dict, want) -> None:
    if isinstance(want, dict) and "error" in want or isinstance(want, rulec.RuleError):
        code = want.code if isinstance(want, rulec.RuleError) else want["error"][0]["code"]
        assert row["error_code"] == code
        return
    assert row["error_code"] is None, row["error_message"]
    text = {k: str(v) if isinstance(v, Decimal) else v for k, v in want.items()}
    assert json.loads(row["settlement"]) == json.loads(json.dumps(want, default=str))
    for k in ("total", "fund_pays", "patient_pays"):
        if k in want:
            assert row[k] == Decimal(text[k])
    assert {k: str(v) for k, v in row["funds"]} == {
        k: str(v) for k, v in want["funds"].items()}


def test_settle_equals_batch_one_claim_per_person(tmp_path):
    claims = write_jsonl(tmp_path / "c.jsonl", N, seed=21, persons=-1)
    spark("settle.py", "--rulesets", "rulesets", str(claims), str(tmp_path / "out.parquet"))
    rows = read_rows(tmp_path / "out.parquet")
    batch = subprocess.run([RULEC, "eval", "--rulesets", "rulesets", "--batch", str(claims)],
                           capture_output=True, text=True, cwd=ROOT).stdout.splitlines()
    lines = claims.read_text(encoding="utf-8").splitlines()
    ids = [json.loads(x).get("claim_id") for x in lines]
    assert len(batch) == len(ids) == N
    for cid, out in zip(ids, batch):
        check_row(rows[cid], json.loads(out))


def test_settle_threads_accumulators_like_replay_and_impact(tmp_path):
    claims = write_jsonl(tmp_path / "c.jsonl", N, seed=22)  # about 10 claims per person
    spark("settle.py", "--rulesets", "rulesets", str(claims), str(tmp_path / "out.parquet"))
    rows = read_rows(tmp_path / "out.parquet")
    lines = claims.read_text(encoding="utf-8").splitlines()
    replayed = rulec.Router.load(ROOT / "rulesets").replay(lines)
    for line, want in zip(lines, replayed):
        check_row(rows[json.loads(line)["claim_id"]], want)
    report = json.loads(subprocess.run(
        [RULEC, "impact", "rulesets", "rulesets", str(claims), "--format", "json"],
        capture_output=True, text=True, cwd=ROOT).stdout)
    sums: dict = {}
    for r in rows.values():
        for k, v in (r["funds"] or []):
            sums[k] = sums.get(k, Decimal(0)) + v
    for name, c in report["funds"].items():
        assert str(sums.get(name, Decimal("0.00"))) == c["base"], name


def test_impact_equals_cli(tmp_path):
    claims = write_jsonl(tmp_path / "c.jsonl", N, seed=23)
    reform = tmp_path / "reform"
    shutil.copytree(ROOT / "rulesets", reform)
    rules = reform / "shandong" / "binzhou" / "outpatient_pooling.rulec"
    text = rules.read_text(encoding="utf-8")
    raised, n = re.subn(r"active\s*=>\s*4_500", "active => 5_000", text)
    assert n == 1, "the reform must raise the active cap exactly once"
    rules.write_text(raised, encoding="utf-8")
    out = tmp_path / "report.json"
    spark("impact.py", "rulesets", str(reform), str(claims), "--output", str(out))
    got = json.loads(out.read_text(encoding="utf-8"))
    want = json.loads(subprocess.run(
        [RULEC, "impact", "rulesets", str(reform), str(claims), "--format", "json"],
        capture_output=True, text=True, cwd=ROOT).stdout)
    for k in ("claims", "claims_changed", "claims_failed", "insured", "insured_affected"):
        assert got[k] == want[k], k
    assert got["funds"] == want["funds"]
    assert got["totals"] == want["totals"]
    for k in ("count", "nonzero", "min", "max", "deciles"):
        assert got["deltas"][k] == want["deltas"][k], k
    assert want["claims_changed"] > 0  # the reform changes something
    # and the package's own impact() gives the CLI's report
    mine = rulec.impact(ROOT / "rulesets", reform, claims.read_text(encoding="utf-8").splitlines())
    assert mine["claims_changed"] == want["claims_changed"]
    assert {k: {s: str(v) for s, v in c.items()} for k, c in mine["funds"].items()} == want["funds"]


@pytest.fixture(autouse=True)
def _java():
    if shutil.which("java") is None:
        pytest.fail("Spark needs Java 17 (`java` not found)")


def test_rules_compile_once_per_python_worker():
    """The shipped rulesets load (and compile) once in each Python worker process, however
    many tasks that process runs: Spark reuses its Python workers, and the router compiles
    each ruleset on first use, once."""
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    import rulec_spark
    from settle import session

    spark = session("local[2]", "rulec-compile-once")
    try:
        name = rulec_spark.ship(spark, str(ROOT / "rulesets"), "rules")

        def probe(it):
            import os as _os

            import rulec_spark as rs

            claims = [line for line in it]
            settled = rs.target(name).evaluate_many(claims, jobs=1)
            return [(_os.getpid(), rs.LOADS, sum(isinstance(r, dict) for r in settled))]

        claim = json.dumps({
            "claim_id": "c1", "settlement_date": "2024-06-10", "visit": "outpatient",
            "insured": {"id": "p1", "scheme": "employee", "status": "active",
                        "region": "shandong/binzhou"},
            "facility": {"level": 1, "region": "shandong/binzhou"},
            "items": [{"code": "ZL006", "category": "service", "quantity": 1,
                       "unit_price": "1200"}]})
        tasks = 24
        got = spark.sparkContext.parallelize([claim] * tasks * 2, tasks).mapPartitions(
            probe).collect()
    finally:
        spark.stop()
    assert len(got) == tasks and all(n == 2 for _, _, n in got)
    pids = {pid for pid, _, _ in got}
    assert len(pids) < tasks, "Spark did not reuse its Python workers"
    assert all(loads == 1 for _, loads, _ in got), got
