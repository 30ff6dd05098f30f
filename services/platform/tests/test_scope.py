"""Region scope: from a credential's regions, object checks and list patterns."""

import pytest

from kernel.errors import DomainError, Forbidden, NotFound
from kernel.scope import UNRESTRICTED, RegionScope


def test_unrestricted_sees_everything():
    assert UNRESTRICTED.allows("230100")
    assert UNRESTRICTED.patterns("150100") == ["1501%"]
    assert UNRESTRICTED.patterns() == ["%"]


def test_everywhere_code_is_unrestricted():
    assert RegionScope.of(["000000"]).prefixes is None
    assert RegionScope.of(["150100", "000000"]).prefixes is None


def test_city_scope_allows_its_counties_only():
    scope = RegionScope.of(["150100"])
    assert scope.allows("150102")
    assert not scope.allows("150200")
    assert not scope.allows(None)
    with pytest.raises(NotFound):
        scope.require("150202", "case", ["path", "case_id"])


def test_patterns_intersect_request_and_scope():
    scope = RegionScope.of(["150100", "152200"])
    assert scope.patterns() == ["1501%", "1522%"]
    assert scope.patterns("150000") == ["1501%", "1522%"]
    assert scope.patterns("150102") == ["150102%"]
    assert scope.patterns("150200") == []


def test_malformed_code_is_refused():
    with pytest.raises(DomainError):
        RegionScope.of(["15x100"])


def test_a_region_filter_outside_the_callers_regions_is_a_clear_403():
    scope = RegionScope.of(["150100", "152200"])
    assert scope.within() == ["1501%", "1522%"]
    assert scope.within("150000") == ["1501%", "1522%"]  # wider than the caller's: narrowed to them
    assert scope.within("150102") == ["150102%"]
    with pytest.raises(Forbidden) as refused:
        scope.within("150200")
    assert refused.value.status_code == 403
    assert refused.value.detail() == [
        {"type": "forbidden", "msg": "the region is outside your regions", "loc": ["query", "region_code"]}
    ]
    assert UNRESTRICTED.within("230100") == ["2301%"]


def test_a_region_named_in_a_body_must_be_within_the_callers_regions():
    scope = RegionScope.of(["150100"])
    scope.require_region("150102", ["body", "region_code"])
    for outside in ("150200", "150000", "000000"):  # another city, the whole province, everyone
        with pytest.raises(Forbidden) as refused:
            scope.require_region(outside, ["body", "region_code"])
        assert refused.value.msg == "the region is outside your regions"
        assert refused.value.loc == ["body", "region_code"]
    UNRESTRICTED.require_region("000000", ["body", "region_code"])
