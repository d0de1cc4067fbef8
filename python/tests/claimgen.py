"""Deterministic claims for the tests, the Spark examples and the benchmarks.

Every claim is a variation of a claim that a shipped test case settles (rulesets/*/tests), so
the generated claims cover every shipped ruleset, routed by `insured.region`. Each insured
person (`insured.id`) keeps one template, region and status; their claims vary the date within
the template's year, the facility level, the quantities, the prices (decimal text, never a
float), and sometimes add an item outside the catalog. A few claims are broken on purpose
(a date that does not exist, a negative price) so that error paths are exercised too.

    python tests/claimgen.py N OUT.jsonl [--seed S]
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Iterator, List

ROOT = Path(__file__).resolve().parents[2]


def templates(root: Path = ROOT) -> List[dict]:
    """The claims of the shipped test cases that expect a settlement (not an error)."""
    out = []
    for f in sorted((root / "rulesets").glob("**/tests/*.json")):
        ruleset = f.parent.parent.relative_to(root / "rulesets").as_posix()
        cases = json.loads(f.read_text(encoding="utf-8"))
        for case in cases if isinstance(cases, list) else [cases]:
            if "expect_error" in case or "as_of" in case:
                continue
            claim = case["claim"]
            # Route every claim to the ruleset whose case settles it: a case may name a region
            # no ruleset serves (china's use hebei/shijiazhuang), or one served by another
            # ruleset, whose accumulators differ (it refuses totals it does not keep, E0710).
            claim.setdefault("insured", {})["region"] = ruleset
            out.append(claim)
    return out


def _amount(rng: random.Random, text: str) -> str:
    """A price near the template's (30% to 170% of it), as decimal text to the fen."""
    scaled = Decimal(str(text)) * rng.randint(30, 170) / 100
    return str(max(scaled, Decimal("0.01")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def claims(n: int, seed: int = 1, persons: int = 0, root: Path = ROOT) -> Iterator[dict]:
    """`n` claims of `persons` insured persons (default n // 10; negative: one person per
    claim, so replay has nothing to thread), deterministic for a seed."""
    rng = random.Random(seed)
    temps = templates(root)
    unique = persons < 0
    persons = 0 if unique else (persons or max(1, n // 10))
    people = []
    for p in range(persons):
        t = temps[rng.randrange(len(temps))]
        people.append((f"P{p:06d}", t))
    for i in range(n):
        if unique:
            pid, t = f"U{i:07d}", temps[rng.randrange(len(temps))]
        else:
            pid, t = people[rng.randrange(len(people))]
        c = copy.deepcopy(t)
        c["claim_id"] = f"C{i:07d}"
        c.setdefault("insured", {})["id"] = pid
        year = int(str(t["settlement_date"])[:4])
        day = datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))
        c["settlement_date"] = day.isoformat()
        if "facility" in c and rng.random() < 0.3:
            c["facility"]["level"] = rng.randint(1, 3)
        for item in c.get("items", []):
            item["unit_price"] = _amount(rng, item["unit_price"])
            if rng.random() < 0.3:
                item["quantity"] = str(rng.randint(1, 5))
        if c.get("items") and rng.random() < 0.1:
            c["items"].append(
                {"code": "NOT-IN-CATALOG", "category": "drug", "quantity": "1",
                 "unit_price": _amount(rng, "35.5")}
            )
        if c.get("visit") == "prenatal":
            c["episode_id"] = f"{pid}-E{year}"
        r = rng.random()
        if r < 0.005:
            c["settlement_date"] = f"{year}-02-30"
        elif r < 0.01 and c.get("items"):
            c["items"][0]["unit_price"] = "-1.00"
        yield c


def write_jsonl(path: Path, n: int, seed: int = 1, persons: int = 0) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for c in claims(n, seed, persons):
            f.write(json.dumps(c, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--persons", type=int, default=0)
    a = ap.parse_args()
    write_jsonl(a.out, a.n, a.seed, a.persons)
