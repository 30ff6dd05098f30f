"""Registration numbers handed out to cases and complaints (kernel.references: KIND-REGION-YEAR-NNNNNN, unique, in
order per prefix), and reading one back where a case or complaint is named (by its number or by its id)."""

from __future__ import annotations

import re
import uuid

from kernel.errors import Invalid

# The numbers as printed: AJ-<region>-<year>-<nnnnnn> (案件编号), TS-<region>-<year>-<nnnnnn> (投诉举报登记编号).
CASE_REF_PATTERN = r"^AJ-\d{6}-\d{4}-\d{6,}$"
COMPLAINT_NO_PATTERN = r"^TS-\d{6}-\d{4}-\d{6,}$"


def object_key(value: str, pattern: str, example: str, what: str, loc: list[str | int]) -> uuid.UUID | str:
    """An object named by its id (a uuid) or by its printed number: the uuid, or the number; a 422 at `loc`
    for anything else (never echoing it)."""
    if re.fullmatch(pattern, value):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Invalid(f"{what} is named by its id (a uuid) or its number, e.g. {example}", loc=loc) from None


# Officers are named as the gateway names them (an account's username, a client's id): the name a case is
# assigned to. `me` and `none` are words of the list's filter, never an officer's name.
ACTOR_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
ME = "me"
NOBODY = "none"
ASSIGNEE_FILTER_PATTERN = ACTOR_NAME_PATTERN
RESERVED_NAMES = frozenset({ME, NOBODY})
