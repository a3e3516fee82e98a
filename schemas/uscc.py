"""统一社会信用代码 (GB 32100-2015): character set and check character."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    """The 18th character for the first 17."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """Why ``code`` is not a valid USCC (in Chinese), or None when it is."""
    code = code.strip().upper()
    if len(code) != 18:
        return f"应为 18 位，实为 {len(code)} 位"
    bad = [ch for ch in code if ch not in ALPHABET]
    if bad:
        return f"含有不允许的字符“{bad[0]}”"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"校验位应为“{expected}”，实为“{code[17]}”"
    return None


def complete(first17: str) -> str:
    """A valid USCC from its first 17 characters (for templates and tests)."""
    return first17 + check_character(first17)
