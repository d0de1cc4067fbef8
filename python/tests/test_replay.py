"""replay() and impact(): the package's replay equals the CLI's impact figures, threads
accumulators person by person, and reports claims that cannot be replayed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
import rulec
from claimgen import claims
from conftest import ROOT, as_json, rulec_bin


def test_replay_threads_accumulators_in_order():
    router = rulec.Router.load(ROOT / "rulesets")
    c = json.loads((ROOT / "rulesets" / "shandong" / "binzhou" / "tests" /
                    "outpatient_pooling.json").read_text())[0]["claim"]
    c["insured"]["id"] = "P1"
    first, second = dict(c, claim_id="a"), dict(c, claim_id="b", settlement_date="2024-07-01")
    # given out of order: replay settles a before b, and b starts where a ended
    out = router.replay([json.dumps(second), json.dumps(first)])
    assert out[1]["accumulators"] == router.evaluate(first)["accumulators"]
    threaded = dict(second, accumulators={k: str(v) for k, v in out[1]["accumulators"].items()})
    # a replayed settlement starts with the claim's id, as a line of `rulec eval --batch`
    assert out[0] == {"claim_id": "b", **router.evaluate(threaded)}
    assert list(out[0])[0] == "claim_id"


def test_replay_reports_claims_it_cannot_replay():
    rs = rulec.Ruleset.load(ROOT / "rulesets" / "sample" / "city")
    c = json.loads((ROOT / "rulesets" / "sample" / "claims" / "outpatient.json").read_text())
    out = rs.replay([json.dumps(c), "", {"x": 1.5}])
    assert [type(o) for o in out] == [rulec.RuleError] * 3
    assert out[0].code == "rulec::E0750" and out[0].input_line == 1
    assert [o.input_line for o in out] == [1, 2, 3]


def test_impact_equals_cli(tmp_path):
    lines = [json.dumps(c) for c in claims(3000, seed=9)]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reform = tmp_path / "reform"
    shutil.copytree(ROOT / "rulesets", reform)
    f = reform / "shandong" / "binzhou" / "outpatient_pooling.rulec"
    text = f.read_text(encoding="utf-8")
    raised, n = re.subn(r"active\s*=>\s*4_500", "active => 5_000", text)
    assert n == 1, "the reform must raise the active cap exactly once"
    f.write_text(raised, encoding="utf-8")
    want = json.loads(subprocess.run(
        [str(rulec_bin()), "impact", str(ROOT / "rulesets"), str(reform), str(path),
         "--format", "json"], capture_output=True, text=True).stdout)
    got = rulec.impact(ROOT / "rulesets", reform, lines)
    assert isinstance(got["funds"]["outpatient_pooling"]["delta"], Decimal)
    assert as_json(got) == want


def test_impact_refuses_a_total_without_an_exact_value():
    # Two claims of 5 × 10^28 each settle, but their sum is beyond a decimal: the run raises
    # E0752 instead of returning a rounded (or overflowed) total.
    case = ROOT / "tests" / "diagnostics" / "cases" / "E0752"
    lines = (case / "impact.jsonl").read_text(encoding="utf-8").splitlines()
    with pytest.raises(rulec.RuleError) as e:
        rulec.impact(case, case, lines)
    assert e.value.code == "rulec::E0752"
    assert "`totals.fund_pays.base`" in str(e.value)
