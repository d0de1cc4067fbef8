"""Throughput of `evaluate_many` next to `rulec eval --batch` on the same claims and cores.

    python python/bench/throughput.py CLAIMS.jsonl --jobs 2 [--rulec target/release/rulec]

Prints claims/s for both (best of --repeat runs) and their ratio. Run it under
`taskset -c 0` with --jobs 1 to compare on one core. A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import rulec

ROOT = Path(__file__).resolve().parents[2]


def time_cli(rulec_bin: str, claims: Path, jobs: int) -> float:
    start = time.perf_counter()
    subprocess.run(
        [rulec_bin, "eval", "--rulesets", str(ROOT / "rulesets"), "--batch", str(claims),
         "--jobs", str(jobs)],
        stdout=subprocess.DEVNULL, check=False,
    )
    return time.perf_counter() - start


def time_python(claims: Path, jobs: int) -> float:
    start = time.perf_counter()
    router = rulec.Router.load(ROOT / "rulesets")  # loading counts, as it does for the CLI
    n = 0
    with open(claims, encoding="utf-8") as f:
        for _ in router.evaluate_many(f, jobs=jobs):
            n += 1
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("claims", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rulec", default=str(ROOT / "target" / "release" / "rulec"))
    a = ap.parse_args()
    n = sum(1 for _ in open(a.claims, encoding="utf-8"))
    cli = min(time_cli(a.rulec, a.claims, a.jobs) for _ in range(a.repeat))
    py = min(time_python(a.claims, a.jobs) for _ in range(a.repeat))
    print(f"claims: {n}, jobs: {a.jobs}")
    print(f"rulec eval --batch: {cli:.2f} s, {n / cli:,.0f} claims/s")
    print(f"evaluate_many:      {py:.2f} s, {n / py:,.0f} claims/s")
    print(f"ratio: {cli / py:.2f}")


if __name__ == "__main__":
    main()
