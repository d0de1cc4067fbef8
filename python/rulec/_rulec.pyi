"""Type stubs of the extension module `rulec._rulec` (re-exported by `rulec`)."""

import datetime
import os
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Union

from ._types import Diagnostic, RuleError

__version__: str

#: A claim: a dict (amounts as decimal.Decimal, str or int; never float) or its JSON text.
Claim = Union[Mapping[str, Any], str, bytes]
#: A settlement: the JSON of `rulec eval`, with every amount a decimal.Decimal.
Settlement = Dict[str, Any]
AsOf = Union[datetime.date, str, None]
PathLike = Union[str, "os.PathLike[str]"]

def check(path: PathLike) -> List[Diagnostic]:
    """Checks rule files or ruleset directories like `rulec check`: errors and warnings."""

def impact(
    base: Union["Ruleset", "Router", PathLike],
    reform: Union["Ruleset", "Router", PathLike],
    lines: Iterable[Union[str, bytes, Mapping[str, Any]]],
    *,
    top: int = 10,
    bins: int = 20,
    jobs: Optional[int] = None,
    as_of: AsOf = None,
) -> Dict[str, Any]:
    """The report of `rulec impact BASE REFORM CLAIMS --format json`; amounts as Decimal."""

def _replay_columns(
    target: Union["Ruleset", "Router", PathLike],
    lines: Iterable[Union[str, bytes, Mapping[str, Any]]],
    amounts: List[str],
    *,
    jobs: Optional[int] = None,
    as_of: AsOf = None,
) -> Dict[str, Any]:
    """Replayed claims as Arrow-ready buffers; use rulec.arrow.replay."""

def _replay_arrow(
    target: Union["Ruleset", "Router", PathLike],
    offsets: bytes,
    data: bytes,
    valid: Optional[bytes],
    offset: int,
    length: int,
    amounts: List[str],
    *,
    jobs: Optional[int] = None,
    as_of: AsOf = None,
) -> Dict[str, Any]:
    """Replays an Arrow string array given by its buffers; use rulec.arrow.replay."""

class Ruleset:
    """A checked, compiled ruleset; share it between threads."""

    @staticmethod
    def load(path: PathLike) -> "Ruleset":
        """Loads the ruleset in a directory; raises RuleError (rulec::E0713) if it has errors."""
    @staticmethod
    def from_sources(name: str, sources: Mapping[str, str]) -> "Ruleset":
        """Loads a ruleset from in-memory `{file name: text}` sources."""
    @property
    def name(self) -> str: ...
    def check(self) -> List[Diagnostic]:
        """The ruleset's diagnostics (warnings: a ruleset with errors does not load)."""
    def evaluate(self, claim: Claim, *, as_of: AsOf = None) -> Settlement:
        """Settles a claim; raises RuleError when it does not settle."""
    def explain(self, claim: Claim, *, as_of: AsOf = None) -> str:
        """The explanation text of `rulec eval --explain`."""
    def trace(self, claim: Claim, *, as_of: AsOf = None) -> Dict[str, Any]:
        """`{"settlement": ..., "trace": [...]}` as `rulec eval --trace json`."""
    def evaluate_many(
        self,
        lines: Iterable[Union[str, bytes, Mapping[str, Any]]],
        jobs: Optional[int] = None,
        *,
        as_of: AsOf = None,
    ) -> "Settlements":
        """Settles JSON lines lazily, in order; failures are yielded as RuleError values."""

    def replay(
        self,
        lines: Iterable[Union[str, bytes, Mapping[str, Any]]],
        jobs: Optional[int] = None,
        *,
        as_of: AsOf = None,
    ) -> List[Union[Settlement, RuleError]]:
        """Replays claims by insured person, accumulators threaded (reference-policies §11)."""

class Router:
    """Routes each claim by `insured.region` to the most specific ruleset under a root."""

    @staticmethod
    def load(root: PathLike) -> "Router": ...
    def check(self) -> List[Diagnostic]:
        """Every error and warning of every ruleset under the root."""
    def evaluate(self, claim: Claim, *, as_of: AsOf = None) -> Settlement: ...
    def explain(self, claim: Claim, *, as_of: AsOf = None) -> str: ...
    def trace(self, claim: Claim, *, as_of: AsOf = None) -> Dict[str, Any]: ...
    def evaluate_many(
        self,
        lines: Iterable[Union[str, bytes, Mapping[str, Any]]],
        jobs: Optional[int] = None,
        *,
        as_of: AsOf = None,
    ) -> "Settlements": ...

    def replay(
        self,
        lines: Iterable[Union[str, bytes, Mapping[str, Any]]],
        jobs: Optional[int] = None,
        *,
        as_of: AsOf = None,
    ) -> List[Union[Settlement, RuleError]]:
        """Replays claims by insured person, accumulators threaded (reference-policies §11)."""

class Settlements(Iterator[Union[Settlement, RuleError]]):
    """The lazy iterator of `evaluate_many`: a settlement dict or a RuleError per line."""

    def __iter__(self) -> "Settlements": ...
    def __next__(self) -> Union[Settlement, RuleError]: ...
