"""A feed client's profile: how that bureau's files are read and judged (column spellings, the rejection
threshold, the ID check-character policy, the sheet of a workbook). Administrators set it per client and
feed; an upload reads it once, at its start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class IdChecksumPolicy(StrEnum):
    reject = "reject"  # an ID number whose check character fails is a row error
    accept_and_flag = "accept_and_flag"  # accepted, said in the receipt and in the finding's evidence


@dataclass(frozen=True)
class FeedProfile:
    # The bureau's own header spellings (as written, matched trimmed and case-insensitively) → field names.
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # More than this share of the received rows rejected refuses the whole upload (nothing applied).
    reject_above_percent: float = 5.0
    id_checksum: IdChecksumPolicy = IdChecksumPolicy.reject
    sheet: str | None = None  # a workbook's sheet to read; None: the first
    version: int = 0  # 0: no profile was set, these are the defaults


DEFAULT_PROFILE = FeedProfile()
