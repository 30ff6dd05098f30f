"""Long columns of text bound to a statement as one string each, and split again by PostgreSQL.

asyncpg binds a list as an array element by element, checking each element's type: 0.36 s of CPU for a
column of 1.1 million values (measured), the largest share of what the matcher's consumer spent applying a
province's payments. The same column joined into one string and split by `string_to_array` costs 0.07 s.

The separator is U+001F unless a value holds it, else a character none of the values holds; each
column's string starts with it, so that a column of one empty value and an empty column differ
(`unpacked_sql` drops the empty first element).
"""

from __future__ import annotations

from collections.abc import Sequence

SEPARATOR = "\x1f"
# Where another separator is looked for when a value holds U+001F: the private use area.
_OTHER_SEPARATORS = range(0xE000, 0xF900)


def packed(*columns: Sequence[str]) -> tuple[str, list[str]]:
    """The separator and each column as one string (bind the separator too: `unpacked_sql`)."""
    separator = SEPARATOR
    texts = _joined(columns, separator)
    if all(text.count(separator) == len(column) for text, column in zip(texts, columns, strict=True)):
        return separator, texts
    held = set("".join(texts))
    for code in _OTHER_SEPARATORS:
        if chr(code) not in held:
            return chr(code), _joined(columns, chr(code))
    raise ValueError("no character is left to separate these values")


def _joined(columns: Sequence[Sequence[str]], separator: str) -> list[str]:
    return [separator + separator.join(column) if column else "" for column in columns]


def unpacked_sql(text: str, separator: str) -> str:
    """The SQL array (text[]) of a column `packed` bound as the parameter `text` (e.g. "$2"), with the separator
    bound as `separator`."""
    return f"(string_to_array({text}, {separator}))[2:]"
