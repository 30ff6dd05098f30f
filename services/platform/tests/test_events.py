"""The published finding contract stays compatible: the fields added to `FindingV1` (the units a finding is
about) are optional, so an event published before them is still a finding, and one carrying them is read
whole; nothing else about the contract changed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kernel.events import EXAMPLE_FINDING, FindingRecordedV1, FindingV1

BEFORE = {k: v for k, v in EXAMPLE_FINDING.items() if k not in ("registered_units", "paying_units")}


def test_an_event_from_before_the_units_is_still_a_finding() -> None:
    finding = FindingRecordedV1.model_validate(BEFORE)
    assert finding.registered_units == [] and finding.paying_units == []
    assert finding.model_dump(mode="json")["evidence"] == EXAMPLE_FINDING["evidence"]


def test_an_event_with_the_units_is_read_whole() -> None:
    finding = FindingRecordedV1.model_validate(EXAMPLE_FINDING)
    assert [(u.name, u.uscc) for u in finding.registered_units] == [
        ("内蒙古恒泰建筑工程有限公司", "91150102MA0N1B2C35")
    ]
    assert [(u.name, u.uscc) for u in finding.paying_units] == [("呼和浩特市金桥劳务有限公司", "91150105MA0P4Q5R60")]


def test_the_contract_is_otherwise_as_published() -> None:
    required = {name for name, field in FindingV1.model_fields.items() if field.is_required()}
    assert required == set(BEFORE)  # the new fields are the only optional ones
    with pytest.raises(ValidationError):  # still strict on the bus: an unknown field is refused
        FindingRecordedV1.model_validate({**EXAMPLE_FINDING, "unit": "x"})
    with pytest.raises(ValidationError):
        FindingRecordedV1.model_validate({k: v for k, v in BEFORE.items() if k != "name"})
