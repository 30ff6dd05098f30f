"""Region scope: from a credential's regions, object checks and list patterns."""

import pytest

from kernel.errors import DomainError, NotFound
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
