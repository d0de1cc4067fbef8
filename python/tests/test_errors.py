"""Errors: floats refused, claims that do not fit, rules that fail at run time, rulesets that
do not load, and what a RuleError carries."""

from __future__ import annotations

import datetime
import decimal
import json
import pickle

import pytest

import rulec
from conftest import ROOT, as_json

BINZHOU = ROOT / "rulesets" / "shandong" / "binzhou"
SAMPLE = ROOT / "rulesets" / "sample" / "city"


@pytest.fixture(scope="module")
def sample():
    return rulec.Ruleset.load(SAMPLE)


def claim():
    return json.loads((ROOT / "rulesets" / "sample" / "claims" / "outpatient.json").read_text())


def test_a_float_is_refused_with_its_path(sample):
    c = claim()
    c["items"][1]["unit_price"] = 350.0
    with pytest.raises(rulec.RuleError) as e:
        sample.evaluate(c)
    err = e.value
    assert err.code == "rulec::E0710"
    assert err.path == "items[1].unit_price"
    assert "float" in err.message and "decimal.Decimal" in err.message
    assert err.message.startswith("items[1].unit_price: ")


def test_a_float_anywhere_is_refused(sample):
    c = claim()
    c["accumulators"]["pooling_paid"] = 4400.0
    with pytest.raises(rulec.RuleError) as e:
        sample.evaluate(c)
    assert e.value.path == "accumulators.pooling_paid"
    c = claim()
    c["facility"]["level"] = 2.0  # not an amount, still refused: no float goes in
    with pytest.raises(rulec.RuleError) as e:
        sample.evaluate(c)
    assert e.value.path == "facility.level"


def test_int_decimal_and_str_amounts_agree(sample):
    a = claim()
    b = claim()
    c = claim()
    for item in a["items"]:
        item["unit_price"] = decimal.Decimal(str(item["unit_price"]))
        item["quantity"] = decimal.Decimal(str(item["quantity"]))
    for item in b["items"]:
        item["unit_price"] = str(item["unit_price"])
    c["items"][1]["unit_price"] = 350  # int
    results = [sample.evaluate(x) for x in (a, b, c, json.dumps(claim()))]
    assert all(r == results[0] for r in results)
    assert isinstance(results[0]["total"], decimal.Decimal)


def test_decimal_keeps_every_digit(sample):
    c = claim()
    c["items"][0]["unit_price"] = decimal.Decimal("15.550")
    c["items"][0]["quantity"] = decimal.Decimal("2.0")
    assert sample.evaluate(c) == sample.evaluate(claim())


@pytest.mark.parametrize(
    "value,words",
    [
        (decimal.Decimal("NaN"), "not a finite decimal"),
        (decimal.Decimal("Infinity"), "not a finite decimal"),
        (decimal.Decimal("1E+100000000"), "out of range"),
        (decimal.Decimal("1E-100000000"), "out of range"),
        (10**40, "out of range"),
        (datetime.datetime(2024, 1, 1), "datetime is not a date"),
        (object(), "no JSON form"),
        ({1: "x"}, "not text"),
    ],
)
def test_values_without_an_exact_json_form_are_refused(sample, value, words):
    c = claim()
    c["items"][0]["unit_price"] = value
    with pytest.raises(rulec.RuleError) as e:
        sample.evaluate(c)
    assert words in e.value.message
    assert e.value.path == "items[0].unit_price"


def test_a_date_object_is_a_date(sample):
    c = claim()
    c["settlement_date"] = datetime.date(2024, 6, 10)
    assert sample.evaluate(c) == sample.evaluate(claim())


def test_deep_and_cyclic_claims_are_refused(sample):
    c = claim()
    deep = c
    for _ in range(200):
        deep["x"] = {}
        deep = deep["x"]
    with pytest.raises(rulec.RuleError) as e:
        sample.evaluate(c)
    assert e.value.code == "rulec::E0716"
    c = claim()
    c["self"] = c
    with pytest.raises(rulec.RuleError) as e:
        sample.evaluate(c)
    assert e.value.code == "rulec::E0716"


def test_a_claim_that_does_not_fit_names_its_path(sample):
    c = claim()
    c["items"][2]["unit_price"] = "abc"
    with pytest.raises(rulec.RuleError) as e:
        sample.evaluate(c)
    assert e.value.code == "rulec::E0710"
    assert e.value.path == "items[2].unit_price"
    assert e.value.file is None


def test_bad_json_text(sample):
    with pytest.raises(rulec.RuleError) as e:
        sample.evaluate('{"claim_id": "x",')
    assert e.value.code == "rulec::E0710"
    with pytest.raises(rulec.RuleError) as e:
        sample.evaluate(b"\xff\xfe")
    assert "UTF-8" in e.value.message


def test_a_runtime_error_points_at_the_rule():
    rs = rulec.Ruleset.from_sources(
        "div",
        {
            "rules.rulec": (
                'ruleset "div"\n'
                "input claim: Claim\n"
                "record Claim { settlement_date: date, n: decimal }\n"
                "as_of claim.settlement_date\n"
                "output q: decimal = 1 / claim.n\n"
            )
        },
    )
    assert rs.evaluate({"settlement_date": "2024-01-01", "n": 4})["q"] == decimal.Decimal("0.25")
    with pytest.raises(rulec.RuleError) as e:
        rs.evaluate({"settlement_date": "2024-01-01", "n": 0})
    err = e.value
    assert err.code == "rulec::E0707"
    assert err.file == "rules.rulec" and err.line == 5 and err.column is not None
    assert err.path is None
    assert "rules.rulec:5" in err.rendered or "rules.rulec" in err.rendered


def test_a_ruleset_with_errors_does_not_load(tmp_path):
    (tmp_path / "r.rulec").write_text('ruleset "bad"\ndef a: money = capp\n')
    with pytest.raises(rulec.RuleError) as e:
        rulec.Ruleset.load(tmp_path)
    err = e.value
    assert err.code == "rulec::E0713"
    located = [d for d in err.diagnostics if d.file is not None]
    assert located and all(d.line and d.column for d in located)
    assert any(d.code == "rulec::E0101" for d in err.diagnostics)
    # rulec.check reports the same errors without raising
    diags = rulec.check(tmp_path)
    assert [d.code for d in diags] == [d.code for d in err.diagnostics[1:]]
    assert all(isinstance(d, rulec.Diagnostic) for d in diags)


def test_check_returns_diagnostics(sample):
    diags = sample.check()
    assert all(isinstance(d, rulec.Diagnostic) for d in diags)
    assert all(d.severity == "warning" for d in diags)
    assert rulec.Router.load(ROOT / "rulesets").check() == rulec.check(ROOT / "rulesets")


def test_errors_pickle(sample):
    c = claim()
    c["items"][0]["unit_price"] = 1.5
    with pytest.raises(rulec.RuleError) as e:
        sample.evaluate(c)
    again = pickle.loads(pickle.dumps(e.value))
    assert again == e.value and again.path == e.value.path and str(again) == str(e.value)


def test_evaluate_many_yields_errors_as_values(sample):
    good = json.dumps(claim())
    bad = claim()
    bad["items"][0]["unit_price"] = 1.5
    lines = [good + "\n", "", "{", bad, good.encode(), '{"settlement_date": "2024-02-30"}']
    out = list(sample.evaluate_many(lines))
    assert len(out) == 6
    # a batch settlement starts with the claim's id, as a line of `rulec eval --batch` does
    assert out[0] == out[4] == {"claim_id": "c1", **sample.evaluate(good)}
    errors = out[1:4] + out[5:]
    assert all(isinstance(e, rulec.RuleError) for e in errors)
    assert [e.input_line for e in errors] == [2, 3, 4, 6]
    assert errors[0].message == "empty line"  # as `rulec eval --batch` says
    assert errors[2].path == "items[0].unit_price"


def test_a_failing_source_raises_after_the_lines_before_it(sample):
    good = json.dumps(claim())

    def source():
        yield good
        yield good
        raise OSError("disk gone")

    it = sample.evaluate_many(source())
    assert len([next(it), next(it)]) == 2
    with pytest.raises(OSError, match="disk gone"):
        next(it)


def test_bad_arguments(sample):
    with pytest.raises(ValueError):
        sample.evaluate_many([], jobs=0)
    with pytest.raises(ValueError):
        sample.evaluate(claim(), as_of="2024-02-30")
    with pytest.raises(TypeError):
        sample.evaluate(claim(), as_of=20240101)
    with pytest.raises(ValueError):
        rulec.Router.load(ROOT / "no-such-dir")


def test_as_of(sample):
    a = sample.evaluate(claim(), as_of="2025-01-01")
    b = sample.evaluate(claim(), as_of=datetime.date(2025, 1, 1))
    assert a == b and a["as_of"] == "2025-01-01"
    assert as_json(a) != as_json(sample.evaluate(claim()))


def test_path_is_data_on_every_claim_path():
    """RuleError.path comes from rulec's error (api::Error::claim_path), on the byte path
    (evaluate, evaluate_many), the tree path (replay) and for text the parser refuses."""
    router = rulec.Router.load(ROOT / "rulesets")
    c = json.loads((ROOT / "rulesets" / "shandong" / "binzhou" / "claims" /
                    "outpatient.json").read_text(encoding="utf-8"))
    c["insured"]["id"] = "P1"
    bad_qty = json.loads(json.dumps(c))
    bad_qty["items"][0]["quantity"] = "x"
    bad_date = dict(c, settlement_date="2024-02-30")
    lines = [json.dumps(bad_qty), json.dumps(bad_date), '{"a": 1, "a": 2}']
    want = ["items[0].quantity", "settlement_date", "a"]
    for results in (list(router.evaluate_many(lines)), router.replay(lines)):
        assert [r.code for r in results] == ["rulec::E0710"] * 3
        assert [r.path for r in results] == want
    with pytest.raises(rulec.RuleError) as e:
        router.evaluate(bad_qty)
    assert e.value.path == "items[0].quantity"
    routing = router.evaluate_many([json.dumps(dict(c, insured={"region": "nowhere"}))])
    assert next(routing).path is None  # not the claim's shape: no path
