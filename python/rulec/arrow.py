"""Replay into Arrow: settlements as a ``pyarrow.RecordBatch``, for Spark (``mapInArrow``),
polars and pandas.

>>> import rulec, rulec.arrow
>>> router = rulec.Router.load("rulesets")
>>> batch = rulec.arrow.replay(router, lines)      # lines: list of str, or a pyarrow string array
>>> batch.schema.field("fund_pays").type
Decimal128Type(decimal128(18, 2))

One row per claim, in input order, with the claims replayed as ``Ruleset.replay`` does
(accumulators threaded per ``insured.id``, reference-policies §11). The columns:

- ``ruleset``, ``as_of``: strings (null when the claim did not settle);
- one ``decimal128(18, 2)`` column per name of ``amounts`` (null when the claim did not
  settle or its ruleset has no such output);
- ``funds``, ``accumulators``: ``map<string, decimal128(18, 2)>``;
- ``settlement``: the whole settlement, exactly the JSON line ``rulec eval --batch`` writes
  for the claim (``claim_id`` first), so that no output of any ruleset is dropped;
- ``error_code``, ``error_message``: why a claim did not settle (never dropped).

The amounts are built in Rust as Arrow buffers (the unscaled fen of each amount), not one
Python ``Decimal`` per value. An amount that does not fit ``decimal128(18, 2)`` exactly
raises ``ValueError``: it is never rounded.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence, Union

import pyarrow as pa

from . import _rulec

#: The amounts a settlement usually has (reference-policies.md): one column each.
AMOUNTS = ("total", "self_pay", "pre_self_pay", "eligible", "fund_pays", "patient_pays",
           "hospital_absorbs", "account_pays", "cash_pays")

#: The type of every amount column.
AMOUNT = pa.decimal128(18, 2)
MAP = pa.map_(pa.string(), AMOUNT)


def schema(amounts: Sequence[str] = AMOUNTS) -> pa.Schema:
    """The schema of the batches ``replay`` returns."""
    return pa.schema(
        [("ruleset", pa.string()), ("as_of", pa.string())]
        + [(name, AMOUNT) for name in amounts]
        + [("funds", MAP), ("accumulators", MAP), ("settlement", pa.string()),
           ("error_code", pa.string()), ("error_message", pa.string())])


def _decimals(col: Any, n: int) -> pa.Array:
    data, valid, nulls = col
    bitmap = pa.py_buffer(valid) if nulls else None
    return pa.Array.from_buffers(AMOUNT, n, [bitmap, pa.py_buffer(data)], null_count=nulls)


def _strings(col: Any, n: int) -> pa.Array:
    offsets, data, valid, nulls = col
    bitmap = pa.py_buffer(valid) if nulls else None
    return pa.Array.from_buffers(pa.string(), n,
                                 [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)],
                                 null_count=nulls)


def _map(col: Any, n: int) -> pa.Array:
    offsets, keys, values, valid, nulls = col
    entries_n = int.from_bytes(offsets[-4:], "little")  # the last map's end
    entries = pa.StructArray.from_arrays(
        [_strings(keys, entries_n), _decimals(values, entries_n)],
        fields=[MAP.key_field, MAP.item_field])
    bitmap = pa.py_buffer(valid) if nulls else None
    return pa.Array.from_buffers(MAP, n, [bitmap, pa.py_buffer(offsets)], null_count=nulls,
                                 children=[entries])


def replay(target: Any, lines: Union[Iterable[Any], pa.Array, pa.ChunkedArray],
           amounts: Sequence[str] = AMOUNTS, *, jobs: Optional[int] = 1,
           as_of: Any = None) -> pa.RecordBatch:
    """Replays claims (JSON text, bytes or dicts; or a pyarrow string array) with a
    ``Ruleset``, a ``Router`` or a ruleset directory; one row per claim, in input order."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks() if lines.num_chunks else pa.array([], pa.string())
    if isinstance(lines, pa.Array) and lines.type == pa.large_string():
        lines = lines.cast(pa.string())
    if isinstance(lines, pa.Array) and lines.type == pa.string():
        # The array's own buffers go to Rust: no Python str per claim.
        valid, offsets, data = lines.buffers()
        n = len(lines)
        cols = _rulec._replay_arrow(
            target, offsets.to_pybytes(), data.to_pybytes() if data is not None else b"",
            valid.to_pybytes() if valid is not None and lines.null_count else None,
            lines.offset, n, list(amounts), jobs=jobs, as_of=as_of)
    else:
        if isinstance(lines, pa.Array):
            lines = lines.to_pylist()
        elif not isinstance(lines, list):
            lines = list(lines)
        n = len(lines)
        cols = _rulec._replay_columns(target, lines, list(amounts), jobs=jobs, as_of=as_of)
    arrays = [_strings(cols["ruleset"], n), _strings(cols["as_of"], n)]
    arrays += [_decimals(cols["amounts"][name], n) for name in amounts]
    arrays += [_map(cols["funds"], n), _map(cols["accumulators"], n),
               _strings(cols["settlement"], n),
               _strings(cols["error_code"], n),
               _strings(cols["error_message"], n)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema(amounts))
