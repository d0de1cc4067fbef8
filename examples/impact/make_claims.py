#!/usr/bin/env python3
"""A year of generated Binzhou outpatient claims for the walk-through in docs/impact.md.

Deterministic (seeded): `python3 examples/impact/make_claims.py > examples/impact/claims.jsonl`
gives the shipped file. 150 employees (one in four retired), 4 to 14 claims each through 2024,
shuffled (replay orders each person's claims itself); each claim carries `insured.id`.
"""
import json
import random
import sys

CODES = ["XA001", "XA003", "XA004", "ZL003", "ZL004"]


def main() -> None:
    rng = random.Random(2024)
    claims = []
    for p in range(150):
        status = "retired" if p % 4 == 3 else "active"
        for c in range(rng.randint(4, 14)):
            day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            code = rng.choice(CODES)
            items = [
                {
                    "code": code,
                    "category": "service" if code.startswith("ZL") else "drug",
                    "quantity": str(rng.randint(1, 3)),
                    "unit_price": f"{rng.randint(20, 900)}.{rng.randint(0, 99):02d}",
                }
            ]
            if rng.random() < 0.4:
                items.append({"code": "GH001", "category": "registration", "quantity": "1", "unit_price": "5.00"})
            claims.append(
                {
                    "claim_id": f"BZ-{p:03d}-{c:02d}",
                    "settlement_date": day,
                    "visit": "outpatient",
                    "insured": {"id": f"P{p:03d}", "scheme": "employee", "status": status, "region": "shandong/binzhou"},
                    "facility": {"level": rng.randint(1, 3), "region": "shandong/binzhou"},
                    "items": items,
                }
            )
    rng.shuffle(claims)
    for c in claims:
        sys.stdout.write(json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
