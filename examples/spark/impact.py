"""What a reform costs, as a Spark aggregation: the figures of `rulec impact`.

    python examples/spark/impact.py BASE REFORM CLAIMS.jsonl|CLAIMS.parquet [--output report.json] \
        [--master local[2]] [--partitions N] [--as-of YYYY-MM-DD]

BASE and REFORM are ruleset directories or routing roots. Both travel with the job as
archives. Claims are partitioned by `insured.id` and sorted within partitions, each person's
claims are replayed under both rules (accumulators threaded on each side, as `rulec impact`
does), and Spark aggregates: claims, claims changed, claims failed, insured persons, persons
affected, per fund and for fund_pays / patient_pays / hospital_absorbs the base total, the
reform total and the delta (exact DecimalType sums), and the per-claim delta distribution's
count, nonzero count, min, max and nearest-rank deciles. The histogram, per-person deltas and
the explained top claims stay with `rulec impact` (see docs/scale-out.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal

from pyspark.sql import functions as F
from pyspark.sql import types as T

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rulec_spark  # noqa: E402
from settle import keyed, partitioned, read_claims, session  # noqa: E402

AMOUNT = T.DecimalType(18, 2)
AMOUNTS = T.MapType(T.StringType(), AMOUNT)
SCHEMA = T.StructType([
    T.StructField("claim_id", T.StringType()),
    T.StructField("insured_id", T.StringType()),
    T.StructField("valid_key", T.BooleanType()),
    T.StructField("failed", T.BooleanType()),
    T.StructField("funds_base", AMOUNTS),
    T.StructField("funds_reform", AMOUNTS),
    T.StructField("totals_base", AMOUNTS),
    T.StructField("totals_reform", AMOUNTS),
    T.StructField("delta", AMOUNT),
    T.StructField("changed", T.BooleanType()),
])


def text(d: Decimal) -> str:
    return str(Decimal(d).quantize(Decimal("0.01")))


def compare(rows) -> dict:
    return {r["name"]: {"base": text(r["base"]), "reform": text(r["reform"]),
                        "delta": text(r["reform"] - r["base"])} for r in rows}


def aggregate(claims) -> dict:
    """The report, computed by Spark from one row per claim."""
    claims.cache()
    head = claims.agg(
        F.count(F.lit(1)).alias("claims"),
        F.sum(F.col("failed").cast("int")).alias("failed"),
        F.sum(F.col("changed").cast("int")).alias("changed"),
        F.countDistinct(F.when(F.col("valid_key"), F.col("insured_id"))).alias("insured"),
        F.countDistinct(F.when(F.col("changed"), F.col("insured_id"))).alias("affected"),
    ).first()
    settled = claims.where(~F.col("failed"))

    def sums(base_col: str, reform_col: str):
        b = settled.select(F.explode(base_col).alias("name", "base"))
        r = settled.select(F.explode(reform_col).alias("name", "reform"))
        return compare(
            b.groupBy("name").agg(F.sum("base").alias("base"))
             .join(r.groupBy("name").agg(F.sum("reform").alias("reform")), "name")
             .orderBy("name").collect())

    deltas = settled.select("delta")
    stats = deltas.agg(F.count(F.lit(1)).alias("n"),
                       F.sum((F.col("delta") != 0).cast("int")).alias("nonzero"),
                       F.min("delta").alias("min"), F.max("delta").alias("max")).first()
    n = stats["n"]
    ranks = {(k * n + 9) // 10 - 1: k for k in range(1, 10)} if n else {}
    picked = (deltas.rdd.map(lambda r: r["delta"]).sortBy(lambda d: d)
              .zipWithIndex().filter(lambda p: p[1] in ranks).collect())
    by_rank = {i: d for d, i in picked}
    deciles = [text(by_rank[(k * n + 9) // 10 - 1]) for k in range(1, 10)] if n else []
    return {
        "claims": head["claims"],
        "claims_changed": head["changed"] or 0,
        "claims_failed": head["failed"] or 0,
        "insured": head["insured"],
        "insured_affected": head["affected"],
        "funds": sums("funds_base", "funds_reform"),
        "totals": sums("totals_base", "totals_reform"),
        "deltas": {
            "count": n,
            "nonzero": stats["nonzero"] or 0,
            "min": text(stats["min"]) if n else "0.00",
            "max": text(stats["max"]) if n else "0.00",
            "deciles": deciles,
        },
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base")
    ap.add_argument("reform")
    ap.add_argument("claims")
    ap.add_argument("--output", default="-")
    ap.add_argument("--master", default=None)
    ap.add_argument("--partitions", type=int, default=0)
    ap.add_argument("--as-of", default=None)
    a = ap.parse_args(argv)
    spark = session(a.master, "rulec-impact")
    base = rulec_spark.ship(spark, a.base, "base")
    reform = rulec_spark.ship(spark, a.reform, "reform")
    parts = a.partitions or spark.sparkContext.defaultParallelism * 4
    as_of = a.as_of
    rows = partitioned(keyed(read_claims(spark, a.claims)), parts).rdd.mapPartitions(
        lambda it: rulec_spark.impact_partition(it, base, reform, as_of))
    report = aggregate(spark.createDataFrame(rows, SCHEMA))
    text_out = json.dumps(report, indent=2, ensure_ascii=False)
    if a.output == "-":
        print(text_out)
    else:
        with open(a.output, "w", encoding="utf-8") as f:
            f.write(text_out + "\n")
    spark.stop()


if __name__ == "__main__":
    main()
