"""Findings: what a check says about a report, as plain data.

A finding keeps its rule id, its parameters and its place; the Chinese text
is rendered from the catalogue when a person is to read it (:attr:`Finding.message`,
:attr:`Finding.title`), at the edges: the command, feedback workbooks, pages
and CSV files.  The ledger stores the data (:meth:`Finding.as_record`), never
the prose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from .catalogue import CATALOGUE, ERROR, SEVERITY_LABELS, WARNING, rule

FIELDS = ("file", "sheet", "cell", "code", "rule", "severity", "message")
"""The keys of :meth:`Finding.as_dict` (``nianbao check --json`` adds ``agency``, ``title`` and ``params``)."""

_PLACE = ("sheet", "cell", "code", "file")


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    sheet: str = ""
    cell: str = ""  # A1 address in the agency's workbook
    code: str = ""  # the form code of the cell, when there is one
    file: str = ""
    params: Mapping[str, object] = field(default_factory=dict, compare=False, hash=False)
    """What the rule's message template is filled with (numbers already formatted, addresses, labels)."""
    text: str = ""
    """Only for findings recorded by a release that stored prose, not parameters (see the ledger's migration)."""

    def __post_init__(self):
        object.__setattr__(self, "params", dict(self.params))  # a copy: the caller's dict may change

    def __eq__(self, other):
        if not isinstance(other, Finding):
            return NotImplemented
        return self.as_record() == other.as_record()

    def __hash__(self):
        return hash((self.rule, self.severity, self.sheet, self.cell, self.code, self.file, self.text,
                     tuple(sorted((k, str(v)) for k, v in self.params.items()))))

    @property
    def message(self) -> str:
        """The message in Chinese, rendered from the catalogue's template."""
        if self.text:
            return self.text
        return rule(self.rule).render(sheet=self.sheet, cell=self.cell, code=self.code, **self.params)

    @property
    def title(self) -> str:
        """The rule's Chinese title (the rule id itself for a rule the catalogue does not know)."""
        return CATALOGUE[self.rule].title if self.rule in CATALOGUE else self.rule

    def as_dict(self) -> dict[str, str]:
        """The finding as a person reads it: place, rule, severity and the rendered message."""
        return {k: self.message if k == "message" else getattr(self, k) for k in FIELDS}

    def as_record(self) -> dict[str, object]:
        """The finding as data (what the ledger stores): no prose but a legacy ``text``."""
        record = {"rule": self.rule, "severity": self.severity, **{k: getattr(self, k) for k in _PLACE},
                  "params": dict(self.params)}
        if self.text:
            record["text"] = self.text
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> Finding:
        return cls(**{k: record[k] for k in ("rule", "severity", *_PLACE, "params", "text") if k in record})

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
    """A finding of catalogue rule ``rule_id`` with its parameters (checked against the template at once)."""
    r = rule(rule_id)
    r.render(sheet=sheet, cell=cell, code=code, **params)  # a missing parameter is a bug here, not later
    return Finding(rule_id, r.severity, sheet, cell, code, file, params)


def findings_digest(findings) -> str:
    """A short digest of findings as data: it changes when any finding, its place or a parameter does."""
    records = json.dumps([f.as_record() for f in findings], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(records.encode("utf-8")).hexdigest()[:12]


def has_errors(findings) -> bool:
    return any(f.severity == ERROR for f in findings)


def is_rejected(readable: bool, findings) -> bool:
    """The one definition of a rejected report: unreadable, or with at least one error."""
    return not readable or has_errors(findings)


def count(findings) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = sum(1 for f in findings if f.severity == ERROR)
    warnings = sum(1 for f in findings if f.severity == WARNING)
    return errors, warnings
