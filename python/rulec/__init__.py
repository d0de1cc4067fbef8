"""rulec: settle medical-insurance claims with rulec rulesets, from Python.

>>> import rulec
>>> rs = rulec.Ruleset.load("rulesets/shandong/binzhou")
>>> settlement = rs.evaluate(claim)            # a dict; amounts are decimal.Decimal
>>> for s in rs.evaluate_many(open("claims.jsonl")):   # lazy, in order, errors as values
...     ...

Money never passes through binary floating point: a ``float`` anywhere in a claim is refused
(``rulec::E0710``); pass amounts as ``decimal.Decimal``, ``str`` or ``int``. Evaluation runs
without the GIL, and a ``Ruleset`` or ``Router`` may be shared by any number of threads.
See docs/python.md.
"""

from ._types import Diagnostic, RuleError
from ._rulec import Router, Ruleset, Settlements, check, impact, __version__

__all__ = [
    "Diagnostic",
    "Router",
    "RuleError",
    "Ruleset",
    "Settlements",
    "check",
    "impact",
    "__version__",
]
