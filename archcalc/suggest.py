"""'Did you mean ...?' suggestions, with a bounded amount of work per run.

difflib compares a word with every option, at a cost that grows with both; a hostile spec
with thousands of misspelt names against thousands of options (8,000 vars that each name a
missing one) would take minutes of CPU for suggestions nobody reads past the first screen.
So every comparison draws on one budget, renewed for each file read
(:func:`archcalc.api.load_document`): once it is spent, messages keep their text and
simply stop suggesting.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Word-option comparisons one process may spend on suggestions (a fraction of a second of CPU).
BUDGET = 30_000
#: Longer words are never a typo worth suggesting for (and cost the most to compare).
MAX_WORD = 100

_spent = 0


def close_matches(word: str, options: Iterable[str], n: int = 1) -> list[str]:
    """Up to ``n`` options close to ``word``, case-insensitively; [] once the budget is spent."""
    global _spent
    if len(word) > MAX_WORD or _spent >= BUDGET:
        return []
    lowered: dict[str, str] = {}
    try:
        for option in options:
            if isinstance(option, str) and len(option) <= MAX_WORD:
                lowered.setdefault(option.lower(), option)
                if len(lowered) >= BUDGET - _spent:
                    break
    except TypeError:  # not iterable: nothing to suggest from
        return []
    _spent += len(lowered) + 1
    import difflib  # here, not at the top: a valid spec's count never suggests

    found = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[match] for match in found]


def reset() -> None:
    """Give the budget back (tests; a long-lived process between unrelated inputs)."""
    global _spent
    _spent = 0
