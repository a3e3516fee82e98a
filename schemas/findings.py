"""Findings: what a check says about a report, as plain data."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .catalogue import ERROR, SEVERITY_LABELS, WARNING, rule

FIELDS = ("file", "sheet", "cell", "code", "rule", "severity", "message")


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    sheet: str = ""
    cell: str = ""  # A1 address in the agency's workbook
    code: str = ""  # the form code of the cell, when there is one
    file: str = ""

    def as_dict(self) -> dict[str, str]:
        d = asdict(self)
        return {k: d[k] for k in FIELDS}

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]

    @property
    def where(self) -> str:
        """「表三」J5, for messages."""
        if self.sheet and self.cell:
            return f"「{self.sheet}」{self.cell}"
        return f"「{self.sheet}」" if self.sheet else ""


def make(rule_id: str, *, sheet: str = "", cell: str = "", code: str = "", file: str = "", **params) -> Finding:
    """A finding of catalogue rule ``rule_id``, its message filled from ``params``."""
    r = rule(rule_id)
    return Finding(r.id, r.severity, r.render(sheet=sheet, cell=cell, code=code, **params), sheet, cell, code, file)


def has_errors(findings) -> bool:
    return any(f.severity == ERROR for f in findings)


def count(findings) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = sum(1 for f in findings if f.severity == ERROR)
    warnings = sum(1 for f in findings if f.severity == WARNING)
    return errors, warnings
