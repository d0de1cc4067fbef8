"""Settle a province's claims on Spark, with accumulators threaded per insured person.

    python examples/spark/settle.py --rulesets rulesets CLAIMS.jsonl|CLAIMS.parquet OUT.parquet \
        [--master local[2]] [--partitions N] [--as-of YYYY-MM-DD]

Claims are JSON Lines (kept as text, so every number keeps its exact digits) or Parquet (each
row turned into claim JSON; float/double columns are refused: money never passes through
binary floating point). They are partitioned by `insured.id`, sorted within each partition by
(insured, settlement_date, claim_id), and each person's claims are settled in that order by
`rulec`'s replay, which threads the accumulators (reference-policies §11). The ruleset
directory travels with the job as an archive and compiles once per executor process.

Output: Parquet with claim_id, insured_id, settlement_date, ruleset, as_of, the standard
amounts as DecimalType(18, 2), funds and accumulators as map<string, decimal(18,2)>, the whole
settlement as JSON text, and error_code / error_message for a claim that did not settle
(never dropped).
"""

from __future__ import annotations

import argparse
import os
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rulec_spark  # noqa: E402

AMOUNT = T.DecimalType(18, 2)
SCHEMA = T.StructType(
    [T.StructField(n, T.StringType()) for n in
     ["claim_id", "insured_id", "settlement_date", "ruleset", "as_of"]]
    + [T.StructField(n, AMOUNT) for n in rulec_spark.MONEY]
    + [T.StructField("funds", T.MapType(T.StringType(), AMOUNT)),
       T.StructField("accumulators", T.MapType(T.StringType(), AMOUNT)),
       T.StructField("settlement", T.StringType()),
       T.StructField("error_code", T.StringType()),
       T.StructField("error_message", T.StringType())]
)


def refuse_floats(schema: T.DataType, path: str = "") -> None:
    if isinstance(schema, (T.FloatType, T.DoubleType)):
        raise SystemExit(f"error: column `{path}` is a float: money never passes through binary "
                         f"floating point; store amounts as decimal or text")
    if isinstance(schema, T.StructType):
        for f in schema.fields:
            refuse_floats(f.dataType, f"{path}.{f.name}" if path else f.name)
    elif isinstance(schema, T.ArrayType):
        refuse_floats(schema.elementType, path + "[]")
    elif isinstance(schema, T.MapType):
        refuse_floats(schema.valueType, path + "{}")


def read_claims(spark: SparkSession, path: str):
    """A DataFrame with one column `value`: each claim's JSON text."""
    if path.endswith(".parquet") or os.path.isdir(path):
        df = spark.read.parquet(path)
        refuse_floats(df.schema)
        return df.select(F.to_json(F.struct(*df.columns)).alias("value"))
    return spark.read.text(path)


def keyed(df):
    """Adds the replay keys and orders each partition by person, date and claim id."""
    return (df
            .withColumn("insured_id", F.get_json_object("value", "$.insured.id"))
            .withColumn("settlement_date", F.get_json_object("value", "$.settlement_date"))
            .withColumn("claim_id", F.get_json_object("value", "$.claim_id")))


def partitioned(df, partitions: int):
    return (df.repartition(partitions, "insured_id")
              .sortWithinPartitions("insured_id", "settlement_date", "claim_id"))


def session(master: str | None, name: str) -> SparkSession:
    b = SparkSession.builder.appName(name).config("spark.ui.enabled", "false")
    if master:
        b = b.master(master)
    spark = b.getOrCreate()
    spark.sparkContext.addPyFile(os.path.join(HERE, "rulec_spark.py"))
    return spark


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rulesets", required=True, help="a ruleset directory or a routing root")
    ap.add_argument("claims")
    ap.add_argument("output")
    ap.add_argument("--master", default=None)
    ap.add_argument("--partitions", type=int, default=0)
    ap.add_argument("--as-of", default=None)
    a = ap.parse_args(argv)
    spark = session(a.master, "rulec-settle")
    name = rulec_spark.ship(spark, a.rulesets, "rulesets")
    df = keyed(read_claims(spark, a.claims))
    parts = a.partitions or spark.sparkContext.defaultParallelism * 4
    as_of = a.as_of
    settled = partitioned(df, parts).mapInArrow(
        lambda batches: rulec_spark.settle_batches(batches, name, as_of), SCHEMA)
    settled.write.mode("overwrite").parquet(a.output)
    spark.stop()


if __name__ == "__main__":
    main()
