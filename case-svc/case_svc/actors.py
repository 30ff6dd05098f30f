"""Who acts: the officer, client or service every change to a case, complaint or campaign is recorded against."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    id: str
    role: str | None = None
