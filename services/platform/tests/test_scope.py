"""Region scope: parsing the gateway's header, object checks and list patterns."""

import pytest

from kernel.errors import DomainError, NotFound
from kernel.scope import RegionScope


def test_no_header_is_unrestricted():
    scope = RegionScope.parse(None)
    assert scope.allows("230100")
    assert scope.patterns("150100") == ["1501%"]
    assert scope.patterns() == ["%"]


def test_everywhere_code_is_unrestricted():
    assert RegionScope.parse("000000").prefixes is None


def test_city_scope_allows_its_counties_only():
    scope = RegionScope.parse("150100")
    assert scope.allows("150102")
    assert not scope.allows("150200")
    assert not scope.allows(None)
    with pytest.raises(NotFound):
        scope.require("150202", "case", ["path", "case_id"])


def test_patterns_intersect_request_and_scope():
    scope = RegionScope.parse("150100, 152200")
    assert scope.patterns() == ["1501%", "1522%"]
    assert scope.patterns("150000") == ["1501%", "1522%"]
    assert scope.patterns("150102") == ["150102%"]
    assert scope.patterns("150200") == []


def test_malformed_header_is_refused():
    with pytest.raises(DomainError):
        RegionScope.parse("15x100")
