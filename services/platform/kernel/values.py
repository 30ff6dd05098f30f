"""Values the APIs take besides the bureaus' records (review and report months, points in time to read
from), kept within 1900–2099 so that a month's window, the month after it, or a time shifted to UTC
is always a date that Python and PostgreSQL both hold: a value outside is a 422, never a 500."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator

# YYYY-MM.
MONTH_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"


def _plausible(moment: datetime) -> datetime:
    if not 1900 <= moment.year <= 2099:
        raise ValueError("expected a time between the years 1900 and 2099")
    return moment


# A point in time a request reads from (`since`).
Since = Annotated[datetime, AfterValidator(_plausible)]
