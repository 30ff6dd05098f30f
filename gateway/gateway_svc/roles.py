"""Roles and scopes: what each kind of client may do. The route table (routing.py) names one scope per route."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    feeds_registry = "feeds:registry"  # push units and registrations, read their receipts
    feeds_insurance = "feeds:insurance"  # push contributions and person statuses, receipts, retract
    feeds_fund = "feeds:fund"  # push deposits, receipts, retract
    records_read = "records:read"  # registrations by region, units
    findings_read = "findings:read"  # findings, matcher progress
    persons_read = "persons:read"  # a person's views and evidence, lookup by ID number (audited)
    persons_reveal = "persons:reveal"  # the full ID number (audited); granted per client, in no role
    cases_read = "cases:read"
    cases_write = "cases:write"
    complaints_write = "complaints:write"
    reports_read = "reports:read"
    campaign_admin = "campaign:admin"  # review month, sweeps, campaigns
    ops_replay = "ops:replay"  # re-publish a service's state
    audit_read = "audit:read"  # the personal-data access log
    checks_read = "checks:read"  # check requests to the centres and where they stand (counts, no people)
    checks_write = "checks:write"  # issue a check request (the construction bureau)
    checks_download = "checks:download"  # a check request's list of people: full ID numbers (audited)
    accounts_admin = "accounts:admin"  # officers' accounts within the caller's regions (accounts.py)


_OFFICER = {
    Scope.records_read,
    Scope.findings_read,
    Scope.persons_read,
    Scope.cases_read,
    Scope.cases_write,
    Scope.complaints_write,
    Scope.reports_read,
    Scope.checks_read,
}
# The construction bureaus of cities and the province issue check requests and hand the lists over; a
# centre's feed client reads and downloads those issued to its centre (registry-svc narrows them).
_ISSUER = {Scope.checks_write, Scope.checks_download}
_CENTRE = {Scope.checks_read, Scope.checks_download}


class Role(StrEnum):
    province_admin = "province_admin"  # 省厅 administrator
    city_officer = "city_officer"  # 盟市 officer
    county_officer = "county_officer"  # 旗县区 officer
    registry_feed = "registry_feed"  # 住建 platform
    insurance_feed = "insurance_feed"  # 社保中心
    fund_feed = "fund_feed"  # 公积金中心
    dashboard = "dashboard"  # read-only, masked: findings, progress, reports


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.province_admin: frozenset(
        _OFFICER | _ISSUER | {Scope.campaign_admin, Scope.ops_replay, Scope.audit_read, Scope.accounts_admin}
    ),
    Role.city_officer: frozenset(_OFFICER | _ISSUER),
    Role.county_officer: frozenset(_OFFICER),
    Role.registry_feed: frozenset({Scope.feeds_registry}),
    Role.insurance_feed: frozenset({Scope.feeds_insurance} | _CENTRE),
    Role.fund_feed: frozenset({Scope.feeds_fund} | _CENTRE),
    Role.dashboard: frozenset({Scope.findings_read, Scope.reports_read}),
}

# Scopes a deployment may add to a client on top of its role's (e.g. reveal for a named officer).
GRANTABLE = frozenset({Scope.persons_reveal})

# The roles of a bureau's feed: a person with one of them signs in to upload for the bureau's client.
FEED_ROLES = frozenset({Role.registry_feed, Role.insurance_feed, Role.fund_feed})
