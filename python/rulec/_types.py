"""The plain Python types of the package: `Diagnostic` and `RuleError`.

They are defined in Python (not in the extension) so that they pickle, print and compare like
any Python value: Spark ships `RuleError` values between processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

__all__ = ["Diagnostic", "RuleError"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a ruleset or a claim, as `rulec check --format json` reports it."""

    code: str
    """The stable code, e.g. ``rulec::E0101`` (docs/diagnostics.md describes each)."""
    severity: str
    """``error`` or ``warning``."""
    message: str
    """The one-line message."""
    file: Optional[str] = None
    """The rule or catalog file, when the problem has a place in one."""
    line: Optional[int] = None
    """1-based line in that file."""
    column: Optional[int] = None
    """1-based column, in characters."""
    help: Optional[str] = None
    """How to fix it."""

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}:{self.column}: "
        text = f"{where}{self.severity}[{self.code}]: {self.message}"
        if self.help:
            text += f"\n  help: {self.help}"
        return text


class RuleError(Exception):
    """A claim that did not settle, or a ruleset that did not load.

    ``code`` is the stable diagnostic code (``rulec::E0710`` for a claim that does not fit the
    declared input), ``path`` the JSON path in the claim when the claim is at fault
    (``items[3].unit_price``), and ``file``/``line``/``column`` the place in the rules when a
    rule is (``rulec::E0701`` no version in force, ``rulec::E0707`` division by zero, ...).
    ``diagnostics`` holds every diagnostic (a ruleset that does not load has several).
    From ``evaluate_many`` the error is a value: ``input_line`` is its 1-based line.
    """

    code: str
    message: str
    path: Optional[str]
    file: Optional[str]
    line: Optional[int]
    column: Optional[int]
    help: Optional[str]
    diagnostics: Tuple[Diagnostic, ...]
    input_line: Optional[int]
    claim_id: Optional[str]
    rendered: str

    def __init__(
        self,
        code: str,
        message: str,
        *,
        path: Optional[str] = None,
        file: Optional[str] = None,
        line: Optional[int] = None,
        column: Optional[int] = None,
        help: Optional[str] = None,
        diagnostics: Tuple[Diagnostic, ...] = (),
        input_line: Optional[int] = None,
        claim_id: Optional[str] = None,
        rendered: str = "",
    ) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.path = path
        self.file = file
        self.line = line
        self.column = column
        self.help = help
        self.diagnostics = tuple(diagnostics)
        self.input_line = input_line
        self.claim_id = claim_id
        self.rendered = rendered or f"error[{code}]: {message}"

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"RuleError({self.code!r}, {self.message!r})"

    def __reduce__(self) -> Any:
        return (_rebuild, (self.code, self.message, self._fields()))

    def _fields(self) -> dict:
        return {
            "path": self.path,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "help": self.help,
            "diagnostics": self.diagnostics,
            "input_line": self.input_line,
            "claim_id": self.claim_id,
            "rendered": self.rendered,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleError):
            return NotImplemented
        return (self.code, self.message, self._fields()) == (
            other.code,
            other.message,
            other._fields(),
        )

    __hash__ = Exception.__hash__


def _rebuild(code: str, message: str, fields: dict) -> RuleError:
    return RuleError(code, message, **fields)


