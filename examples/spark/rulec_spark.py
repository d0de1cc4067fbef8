"""Executor-side helpers of the Spark examples (settle.py, impact.py).

Spark ships this module to every executor (`addPyFile`), so its globals live as long as the
executor's Python worker: each ruleset directory — shipped with the job as an archive — is
compiled once per worker process and reused by every task that process runs.

Settlement is a pure function of a claim and the accumulators threaded into it, so a partition
that Spark recomputes after an executor dies gives the same rows again (docs/scale-out.md).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import tempfile
from decimal import Decimal
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import rulec

if not hasattr(rulec.Ruleset, "replay"):
    raise ImportError(
        "this build of the rulec package has no replay (Ruleset.replay, rulec.impact): the "
        "Spark examples need the package built from a checkout that has rulec::replay "
        "(issue 10); see docs/scale-out.md"
    )

#: Claims handed to one `replay` call: whole persons, about this many claims.
CHUNK = 4096

_LOADED: Dict[str, Any] = {}
#: How many times this process compiled a ruleset (a test reads it).
LOADS = 0

MONEY = ["total", "self_pay", "pre_self_pay", "eligible", "fund_pays", "patient_pays",
         "hospital_absorbs", "account_pays", "cash_pays"]
TOTALS = ["fund_pays", "patient_pays", "hospital_absorbs"]


def ship(spark: Any, directory: str, alias: str) -> str:
    """Ships a ruleset directory with the job as `alias.zip` (as `--archives` does)."""
    tmp = tempfile.mkdtemp(prefix="rulec-ship-")
    archive = shutil.make_archive(os.path.join(tmp, alias), "zip", directory)
    spark.sparkContext.addArchive(archive)
    return alias + ".zip"


def load(path: str) -> Any:
    """A directory with rule files is one ruleset; any other directory a routing root."""
    if any(name.endswith(".rulec") for name in os.listdir(path)):
        return rulec.Ruleset.load(path)
    return rulec.Router.load(path)


def target(name: str) -> Any:
    """The ruleset shipped as `name`, compiled once per Python worker process."""
    global LOADS
    t = _LOADED.get(name)
    if t is None:
        from pyspark import SparkFiles

        path = name if os.path.isdir(name) else SparkFiles.get(name)
        t = load(path)
        LOADS += 1
        _LOADED[name] = t
    return t


def chunks(rows: Iterable[Any]) -> Iterator[List[Any]]:
    """Rows sorted by insured person, cut between persons into chunks of about CHUNK."""
    chunk: List[Any] = []
    last: Optional[str] = None
    for row in rows:
        if len(chunk) >= CHUNK and row["insured_id"] != last:
            yield chunk
            chunk = []
        chunk.append(row)
        last = row["insured_id"]
    if chunk:
        yield chunk


def money(value: Any) -> Optional[Decimal]:
    """An amount for a DecimalType(18, 2) column; refuses what would be rounded."""
    if value is None:
        return None
    d = Decimal(value)
    if d != d.quantize(Decimal("0.01")) or abs(d) >= Decimal(10) ** 16:
        raise ValueError(f"{value!r} does not fit DecimalType(18, 2) exactly")
    return d.quantize(Decimal("0.01"))


def person_batches(batches: Iterable[Any], size: int = CHUNK) -> Iterator[Any]:
    """Arrow record batches of rows sorted by person, re-cut between persons into tables of
    about `size` rows: a person's claims never straddle two replay calls."""
    import pyarrow as pa

    pending: List[Any] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        if count < size:
            continue
        table = pa.Table.from_batches(pending).combine_chunks()
        ids = table.column("insured_id").to_pylist()
        cut = len(ids)
        while cut > 0 and ids[cut - 1] == ids[-1]:
            cut -= 1
        if cut == 0:  # one person so far: read on
            continue
        yield table.slice(0, cut)
        rest = table.slice(cut)
        pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending).combine_chunks()


def settle_batches(batches: Iterable[Any], name: str, as_of: Optional[str]) -> Iterator[Any]:
    """`mapInArrow`: whole partitions of claims (sorted by person, date, claim id) in Arrow
    record batches, replayed by the package straight into Arrow columns (rulec.arrow): no
    Python object per amount, one call into Rust per ~CHUNK claims."""
    import pyarrow as pa
    import rulec.arrow

    t = target(name)
    for table in person_batches(batches):
        out = rulec.arrow.replay(t, table.column("value"), MONEY, jobs=1, as_of=as_of)
        keys = [table.column(k).combine_chunks() for k in ("claim_id", "insured_id",
                                                           "settlement_date")]
        yield pa.RecordBatch.from_arrays(
            keys + out.columns,
            names=["claim_id", "insured_id", "settlement_date"] + out.schema.names)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def valid_key(row: Any) -> bool:
    """Whether replay can order the claim: text `insured.id`, a real date, text claim_id."""
    try:
        claim = json.loads(row["value"])
        ins = claim.get("insured", {}).get("id")
        date = claim.get("settlement_date")
        cid = claim.get("claim_id")
        datetime.date.fromisoformat(date)
        return (isinstance(ins, str) and ins != "" and bool(_DATE.match(date))
                and (cid is None or isinstance(cid, str)))
    except (ValueError, TypeError, AttributeError):
        return False


def _amounts(result: Any) -> Tuple[Dict[str, Decimal], List[Optional[Decimal]]]:
    funds = {k: Decimal(v) for k, v in result["funds"].items()}
    fund_pays = result.get("fund_pays")
    totals = [
        Decimal(fund_pays) if fund_pays is not None else sum(funds.values(), Decimal(0)),
        result.get("patient_pays"),
        result.get("hospital_absorbs"),
    ]
    return funds, totals


def impact_partition(rows: Iterable[Any], base: str, reform: str,
                     as_of: Optional[str]) -> Iterator[Tuple]:
    """Per claim: both sides replayed, the amounts of each, whether anything changed."""
    b, r = target(base), target(reform)
    for chunk in chunks(rows):
        texts = [row["value"] for row in chunk]
        for row, sb, sr in zip(chunk, b.replay(texts, jobs=1, as_of=as_of),
                               r.replay(texts, jobs=1, as_of=as_of)):
            failed = isinstance(sb, rulec.RuleError) or isinstance(sr, rulec.RuleError)
            key = valid_key(row)
            if failed:
                yield (row["claim_id"], row["insured_id"], key, True, None, None, None, None,
                       None, False)
                continue
            fb, tb = _amounts(sb)
            fr, tr = _amounts(sr)
            names = list(fb) + [n for n in fr if n not in fb]
            funds = {n: (fb.get(n, Decimal(0)), fr.get(n, Decimal(0))) for n in names}
            changed = any(x != y for x, y in funds.values())
            totals_b: Dict[str, Decimal] = {}
            totals_r: Dict[str, Decimal] = {}
            for name, x, y in zip(TOTALS, tb, tr):
                if x is not None or y is not None:
                    x, y = Decimal(x or 0), Decimal(y or 0)
                    totals_b[name], totals_r[name] = x, y
                    changed |= x != y
            delta = tr[0] - tb[0]
            yield (row["claim_id"], row["insured_id"], key, False,
                   {n: money(v[0]) for n, v in funds.items()},
                   {n: money(v[1]) for n, v in funds.items()},
                   {n: money(v) for n, v in totals_b.items()},
                   {n: money(v) for n, v in totals_r.items()},
                   money(delta), changed)
