"""Threads: one Ruleset or Router shared by many Python threads gives the serial results, and
evaluation runs without the GIL."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import rulec
from claimgen import claims
from conftest import ROOT


def settle_all(target, batch):
    out = []
    for c in batch:
        try:
            out.append(target.evaluate(c))
        except rulec.RuleError as e:
            out.append(e)
    return out


def test_shared_router_across_threads_matches_serial():
    router = rulec.Router.load(ROOT / "rulesets")
    work = list(claims(1600, seed=11))
    serial = settle_all(router, work)
    chunks = [work[i::8] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda ch: settle_all(router, ch), chunks))
    for i, chunk_results in enumerate(parallel):
        assert chunk_results == serial[i::8]
    assert sum(isinstance(r, dict) for r in serial) > 1000


def test_concurrent_evaluate_many_on_one_ruleset():
    rs = rulec.Ruleset.load(ROOT / "rulesets" / "shandong" / "binzhou")
    work = [json.dumps(c) for c in claims(3000, seed=5) if c["insured"]["region"] == "shandong/binzhou"]
    expected = list(rs.evaluate_many(work, jobs=1))
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: list(rs.evaluate_many(work, jobs=2)), range(4)))
    assert all(r == expected for r in runs)


def big_claim_text(items: int) -> str:
    c = json.loads((ROOT / "rulesets" / "sample" / "claims" / "outpatient.json").read_text())
    c["items"] = c["items"] * (items // len(c["items"]))
    return json.dumps(c)


def test_the_gil_is_released_while_evaluating():
    """While one thread settles a large claim (given as text, so that converting it takes no
    time), another Python thread keeps running. Were the GIL held during evaluation, the
    counting thread would stall for the whole evaluation."""
    rs = rulec.Ruleset.load(ROOT / "rulesets" / "sample" / "city")
    text = big_claim_text(60_000)
    inside = threading.Event()
    done = threading.Event()
    counts = {"during": 0}

    def count():
        inside.wait()
        n = 0
        while not done.is_set():
            n += 1
        counts["during"] = n

    counter = threading.Thread(target=count)
    counter.start()
    for _ in range(3):
        inside.set()
        rs.evaluate(text)
    done.set()
    counter.join()
    # a held GIL would let the counter run only between the calls (a few switch intervals)
    assert counts["during"] > 200_000, counts
