"""rulec.arrow: replay into an Arrow record batch, column for column equal to the package's
replay (and so to `rulec eval --batch` lines), amounts decimal128(18, 2), errors as rows."""

from __future__ import annotations

import json
from decimal import Decimal

import pyarrow as pa
import pytest

import rulec
import rulec.arrow
from claimgen import claims
from conftest import ROOT, as_json


def test_arrow_replay_equals_replay():
    router = rulec.Router.load(ROOT / "rulesets")
    lines = [json.dumps(c) for c in claims(3000, seed=31)] + ["", "{", '{"x": 1}']
    batch = rulec.arrow.replay(router, pa.array(lines), jobs=2)
    want = router.replay(lines, jobs=2)
    assert batch.num_rows == len(lines) == len(want)
    assert batch.schema == rulec.arrow.schema()
    rows = batch.to_pylist()
    settled = failed = 0
    for row, w in zip(rows, want):
        if isinstance(w, rulec.RuleError):
            failed += 1
            assert (row["error_code"], row["error_message"]) == (w.code, w.message)
            assert row["settlement"] is row["funds"] is row["ruleset"] is None
            assert all(row[k] is None for k in rulec.arrow.AMOUNTS)
            continue
        settled += 1
        assert row["error_code"] is None
        assert json.loads(row["settlement"]) == as_json(w)
        assert list(json.loads(row["settlement"])) == list(w)  # key order, claim_id first
        assert (row["ruleset"], row["as_of"]) == (w["ruleset"], w["as_of"])
        for k in rulec.arrow.AMOUNTS:
            assert row[k] == w.get(k), k
            assert row[k] is None or row[k].as_tuple().exponent == -2
        assert dict(row["funds"]) == w["funds"]
        assert dict(row["accumulators"]) == w["accumulators"]
    assert settled > 2000 and failed >= 3


def binzhou_claim() -> dict:
    """A claim of a ruleset whose schema declares `insured.id` (replay needs it)."""
    c = json.loads((ROOT / "rulesets" / "shandong" / "binzhou" / "claims" /
                    "outpatient.json").read_text(encoding="utf-8"))
    c["insured"]["id"] = "P1"
    return c


def test_arrow_replay_of_nothing_and_of_a_list():
    rs = rulec.Ruleset.load(ROOT / "rulesets" / "shandong" / "binzhou")
    empty = rulec.arrow.replay(rs, [])
    assert empty.num_rows == 0 and empty.schema == rulec.arrow.schema()
    one = rulec.arrow.replay(rs, [json.dumps(binzhou_claim())],
                             amounts=["fund_pays", "no_such_output"]).to_pylist()[0]
    assert one["error_code"] is None, one["error_message"]
    want = rs.replay([json.dumps(binzhou_claim())])[0]
    assert isinstance(one["fund_pays"], Decimal) and one["fund_pays"] == want["fund_pays"]
    assert one["no_such_output"] is None
    assert set(one) == {"ruleset", "as_of", "fund_pays", "no_such_output", "funds",
                        "accumulators", "settlement", "error_code", "error_message"}


def test_arrow_refuses_a_float_claim_as_a_row():
    rs = rulec.Ruleset.load(ROOT / "rulesets" / "sample" / "city")
    row = rulec.arrow.replay(rs, [{"x": 1.5}]).to_pylist()[0]
    assert row["error_code"] == "rulec::E0710" and "float" in row["error_message"]


def test_arrow_buffers_read_like_a_list():
    """A pyarrow string array goes to Rust as its buffers (no Python str per claim): a
    slice (non-zero offset), nulls, a chunked array and a large_string array all replay
    exactly as the same claims given as a Python list."""
    router = rulec.Router.load(ROOT / "rulesets")
    lines = [json.dumps(c) for c in claims(400, seed=7)]
    with_nulls = lines[:50] + [None] + lines[50:100] + [None, "  ", "{"]
    want = rulec.arrow.replay(router, with_nulls).to_pylist()
    assert sum(r["error_code"] is None for r in want) > 50
    assert want[50]["error_code"] is not None and want[50]["settlement"] is None

    arr = pa.array(["padding"] * 7 + with_nulls + ["tail"], pa.string())
    sliced = arr.slice(7, len(with_nulls))
    assert sliced.offset == 7
    for given in (sliced,
                  pa.chunked_array([sliced.slice(0, 30), sliced.slice(30)]),
                  sliced.cast(pa.large_string())):
        got = rulec.arrow.replay(router, given).to_pylist()
        assert got == want
    empty = rulec.arrow.replay(router, pa.array([], pa.string()))
    assert empty.num_rows == 0


def test_arrow_buffers_that_do_not_hold_their_rows_are_refused():
    rs = rulec.Ruleset.load(ROOT / "rulesets" / "sample" / "city")
    offsets = (0).to_bytes(4, "little") + (500).to_bytes(4, "little")
    with pytest.raises(ValueError, match="buffers"):
        rulec._rulec._replay_arrow(rs, offsets, b"{}", None, 0, 1, ["total"])
    with pytest.raises(ValueError, match="buffers"):
        rulec._rulec._replay_arrow(rs, offsets, b"{}", None, 2**62, 2**62, ["total"])
