"""Generated parts of the README: the form's codes and the rule catalogue.

``python -m nianbao.flows.docs`` rewrites the marked sections of README.md; a test
fails when they are stale, so the docs always say what the code does.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from nianbao.schemas.catalogue import CATALOGUE, SEVERITY_LABELS
from nianbao.schemas.form import FORM, TEMPLATE_VERSION
from nianbao.schemas.layout import LAYOUT

README = Path(__file__).resolve().parents[1] / "README.md"


def form_table() -> str:
    lines = [
        f"Template version `{TEMPLATE_VERSION}`. {len(FORM.numeric_codes)} numeric cells and "
        f"{len(FORM.fields)} fields; every input cell carries a workbook-level defined name equal to its code.",
        "",
        "| code | sheet | cell | label | type |",
        "|---|---|---|---|---|",
    ]
    for f in FORM.fields:
        sheet, cell = LAYOUT.address(f.code)
        lines.append(f"| `{f.code}` | {sheet} | {cell} | {f.label} | {f.kind} |")
    for c in FORM.cells:
        sheet, cell = LAYOUT.address(c.code)
        label = "／".join(p for p in (c.row.label, c.column.label) if p)
        total = " (total: formula)" if c.code in FORM.sums else ""
        lines.append(f"| `{c.code}` | {sheet} | {cell} | {label} | {c.kind} ≥ 0, {c.unit}{total} |")
    return "\n".join(lines)


def rules_table() -> str:
    lines = ["| rule | severity | title | what it checks |", "|---|---|---|---|"]
    for r in CATALOGUE.values():
        lines.append(f"| `{r.id}` | {SEVERITY_LABELS[r.severity]} | {r.title} | {r.description} |")
    return "\n".join(lines)


SECTIONS = {"form": form_table, "rules": rules_table}


def render(text: str) -> str:
    for name, fn in SECTIONS.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README has no <!-- {name}:start --> … <!-- {name}:end --> section")
        text = pattern.sub(lambda m: m.group(1) + fn() + "\n" + m.group(2), text)
    return text


def main() -> int:
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if new != text:
        README.write_text(new, encoding="utf-8")
        print(f"updated {README.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
