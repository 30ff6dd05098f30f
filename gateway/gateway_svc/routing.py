"""The public routing table: every path the gateway forwards, to which service, with which scope.

This table is the integration contract's enforcement: a path not in it is 404, whatever the services
have (their internal routes, health and metrics are never reachable from outside).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from gateway_svc.roles import Scope


class Kind(StrEnum):
    plain = "plain"
    feed = "feed"  # a bulk upload: large body limit, streamed; the uploading client owns the batch
    batch = "batch"  # a batch's receipt or retraction: only for the client that uploaded it
    # Personal data: every read is written to the audit log (audit.py).
    person = "person"  # one person's data, the person named in the path
    person_in_body = "person_in_body"  # one person's data, the person named by the answer's `person_ref`
    people = "people"  # a page of people's data: one entry per person among the answer's `items`
    # A check request's list (full ID numbers): one entry per person on it, as registry-svc names them.
    check_request_people = "check_request_people"
    # A file about one person (a case's attachment, a printed document): the service names them in X-Person-Ref.
    person_in_header = "person_in_header"
    attachment = "attachment"  # a file added to a case: the attachment body limit, not the feeds'
    # A publication list (公示): its rows name people (`rows[].person_ref`, of each of a page's `items` too).
    publication = "publication"
    # A publication list exported as a file: one entry per person on it, as case-svc's list of it names them.
    publication_export = "publication_export"
    # Names officers to give cases to: the gateway vouches, in the credential, for the accounts named (proxy.py).
    assignment = "assignment"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # public template, `{name}` is one path segment
    service: str
    scope: Scope
    kind: Kind = Kind.plain
    upstream_path: str | None = None  # when the service's path differs from the contract's
    regex: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        object.__setattr__(self, "regex", re.compile(pattern + "$"))

    @property
    def upstream(self) -> str:
        return self.upstream_path or self.path

    def upstream_url_path(self, params: dict[str, str]) -> str:
        return self.upstream.format(**params)


@dataclass(frozen=True)
class PrefixRoute:
    """Everything under a prefix of a service whose paths are its own design (case-svc): the scope
    depends on the method only."""

    prefix: str
    service: str
    read_scope: Scope
    write_scope: Scope

    def matches(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    def scope(self, method: str) -> Scope:
        return self.read_scope if method in {"GET", "HEAD"} else self.write_scope


@dataclass(frozen=True)
class Match:
    service: str
    scope: Scope
    kind: Kind
    template: str  # for logs and the audit log: the path without its values
    upstream_path: str
    params: dict[str, str]


SERVICE_TITLES = {
    "registry": "registry-svc",
    "insurance": "insurance-svc",
    "fund": "fund-svc",
    "matcher": "matcher-svc",
    "case": "case-svc",
}

S, K = Scope, Kind
_V1 = "/api/v1"


def _profile_routes(service: str) -> tuple[Route, ...]:
    """A feed client's profile (how its files are read), set and read by a province administrator."""
    path = f"{_V1}/{service}/feeds/{{feed}}/profiles/{{client_id}}"
    return (
        Route("PUT", path, service, Scope.campaign_admin),
        Route("GET", path, service, Scope.campaign_admin),
        Route("GET", f"{path}/versions", service, Scope.campaign_admin),
    )


def _freshness_route(service: str) -> Route:
    """How fresh each feed client's data is per region (no people: feeds, clients, times, row counts), for whoever
    reads the summary tables — officers of every level and dashboards, within their regions."""
    return Route("GET", f"{_V1}/{service}/feeds/freshness", service, Scope.reports_read)


ROUTES: tuple[Route, ...] = (
    # registry-svc
    Route("POST", f"{_V1}/registry/units", "registry", S.feeds_registry, K.feed),
    Route("POST", f"{_V1}/registry/registrations", "registry", S.feeds_registry, K.feed),
    Route("GET", f"{_V1}/registry/batches/{{batch_id}}", "registry", S.feeds_registry, K.batch),
    Route("GET", f"{_V1}/registry/batches/{{batch_id}}/errors", "registry", S.feeds_registry, K.batch),
    Route("GET", f"{_V1}/registry/templates/{{feed}}", "registry", S.feeds_registry),
    Route("GET", f"{_V1}/registry/templates/{{feed}}/guide", "registry", S.feeds_registry),
    Route("GET", f"{_V1}/registry/registrations", "registry", S.records_read, K.people),
    Route(
        "GET",
        f"{_V1}/registry/registrations/{{category}}/{{certificate_no}}",
        "registry",
        S.records_read,
        K.person_in_body,
    ),
    Route("GET", f"{_V1}/registry/units", "registry", S.records_read),
    Route("GET", f"{_V1}/registry/units/{{uscc}}", "registry", S.records_read),
    Route("GET", f"{_V1}/registry/persons/{{person_ref}}/registrations", "registry", S.persons_read, K.person),
    Route("POST", f"{_V1}/registry/replay", "registry", S.ops_replay),
    *_profile_routes("registry"),
    _freshness_route("registry"),
    # check requests to the centres (`reminders` before the request number it would otherwise match)
    Route("POST", f"{_V1}/registry/check-requests", "registry", S.checks_write),
    Route("GET", f"{_V1}/registry/check-requests", "registry", S.checks_read),
    Route("GET", f"{_V1}/registry/check-requests/reminders", "registry", S.checks_read),
    Route("GET", f"{_V1}/registry/check-requests/{{request_ref}}", "registry", S.checks_read),
    Route(
        "GET",
        f"{_V1}/registry/check-requests/{{request_ref}}/download",
        "registry",
        S.checks_download,
        K.check_request_people,
    ),
    # insurance-svc (`person-status` is the contract's spelling of the service's `person_statuses`)
    Route("POST", f"{_V1}/insurance/contributions", "insurance", S.feeds_insurance, K.feed),
    Route(
        "POST",
        f"{_V1}/insurance/person-status",
        "insurance",
        S.feeds_insurance,
        K.feed,
        upstream_path=f"{_V1}/insurance/person_statuses",
    ),
    Route("POST", f"{_V1}/insurance/person_statuses", "insurance", S.feeds_insurance, K.feed),
    Route("GET", f"{_V1}/insurance/batches/{{batch_id}}", "insurance", S.feeds_insurance, K.batch),
    Route("GET", f"{_V1}/insurance/batches/{{batch_id}}/errors", "insurance", S.feeds_insurance, K.batch),
    Route("GET", f"{_V1}/insurance/templates/{{feed}}", "insurance", S.feeds_insurance),
    Route("GET", f"{_V1}/insurance/templates/{{feed}}/guide", "insurance", S.feeds_insurance),
    Route("POST", f"{_V1}/insurance/batches/{{batch_id}}/retract", "insurance", S.feeds_insurance, K.batch),
    Route("GET", f"{_V1}/insurance/persons/{{person_ref}}/contributions", "insurance", S.persons_read, K.person),
    Route("GET", f"{_V1}/insurance/persons/{{person_ref}}/person_statuses", "insurance", S.persons_read, K.person),
    Route("POST", f"{_V1}/insurance/replay", "insurance", S.ops_replay),
    *_profile_routes("insurance"),
    _freshness_route("insurance"),
    # fund-svc
    Route("POST", f"{_V1}/fund/deposits", "fund", S.feeds_fund, K.feed),
    Route("GET", f"{_V1}/fund/batches/{{batch_id}}", "fund", S.feeds_fund, K.batch),
    Route("GET", f"{_V1}/fund/batches/{{batch_id}}/errors", "fund", S.feeds_fund, K.batch),
    Route("GET", f"{_V1}/fund/templates/{{feed}}", "fund", S.feeds_fund),
    Route("GET", f"{_V1}/fund/templates/{{feed}}/guide", "fund", S.feeds_fund),
    Route("POST", f"{_V1}/fund/batches/{{batch_id}}/retract", "fund", S.feeds_fund, K.batch),
    Route("GET", f"{_V1}/fund/persons/{{person_ref}}/deposits", "fund", S.persons_read, K.person),
    Route("POST", f"{_V1}/fund/replay", "fund", S.ops_replay),
    *_profile_routes("fund"),
    _freshness_route("fund"),
    # matcher-svc
    Route("GET", f"{_V1}/matcher/findings", "matcher", S.findings_read, K.people),
    Route("GET", f"{_V1}/matcher/persons/{{person_ref}}", "matcher", S.persons_read, K.person),
    Route("GET", f"{_V1}/matcher/progress", "matcher", S.findings_read),
    Route("PUT", f"{_V1}/matcher/review-month", "matcher", S.campaign_admin),
    Route("POST", f"{_V1}/matcher/sweeps", "matcher", S.campaign_admin),
    Route("POST", f"{_V1}/matcher/audits", "matcher", S.campaign_admin),
    Route("GET", f"{_V1}/matcher/sweeps/{{sweep_id}}", "matcher", S.campaign_admin),
    # case-svc: its reads of cases carry a person's data (name, masked ID, evidence); the rest of its paths
    # go by prefix (below). The case id may be a uuid or the printed number (AJ-150102-2026-000004).
    Route("GET", f"{_V1}/cases", "case", S.cases_read, K.people),
    Route("GET", f"{_V1}/cases/attendance-checks", "case", S.cases_read),
    Route("GET", f"{_V1}/cases/notices", "case", S.cases_read),
    Route("GET", f"{_V1}/cases/supervised", "case", S.cases_read, K.people),
    Route("GET", f"{_V1}/cases/{{case_id}}", "case", S.cases_read, K.person_in_body),
    Route("POST", f"{_V1}/cases/assign-round-robin", "case", S.cases_write, K.assignment),
    Route("POST", f"{_V1}/cases/bulk", "case", S.cases_write, K.assignment),
    Route("POST", f"{_V1}/cases/{{case_id}}/assign", "case", S.cases_write, K.assignment),
    Route("POST", f"{_V1}/complaints/{{complaint_id}}/assign", "case", S.complaints_write, K.assignment),
    Route("GET", f"{_V1}/publications", "case", S.cases_read, K.publication),
    Route("GET", f"{_V1}/publications/{{publication_id}}", "case", S.cases_read, K.publication),
    Route("GET", f"{_V1}/publications/{{publication_id}}/export", "case", S.cases_read, K.publication_export),
    Route("POST", f"{_V1}/cases/{{case_id}}/attachments", "case", S.cases_write, K.attachment),
    Route("GET", f"{_V1}/cases/{{case_id}}/attachments/{{number}}", "case", S.cases_read, K.person_in_header),
    # A document is issued (its number the first time) by a write; a read prints an issued one again.
    Route("POST", f"{_V1}/cases/{{case_id}}/documents/{{kind}}", "case", S.cases_write, K.person_in_header),
    Route("GET", f"{_V1}/cases/{{case_id}}/documents/{{kind}}", "case", S.cases_read, K.person_in_header),
)

# case-svc (issue 5): its own design under these prefixes; it applies the region scope itself.
PREFIX_ROUTES: tuple[PrefixRoute, ...] = (
    PrefixRoute(f"{_V1}/cases", "case", S.cases_read, S.cases_write),
    PrefixRoute(f"{_V1}/complaints", "case", S.cases_read, S.complaints_write),
    PrefixRoute(f"{_V1}/reports", "case", S.reports_read, S.reports_read),
    PrefixRoute(f"{_V1}/campaigns", "case", S.cases_read, S.campaign_admin),
    PrefixRoute(f"{_V1}/publications", "case", S.cases_read, S.campaign_admin),  # 公示: drafted, approved, exported
)


def match(method: str, path: str) -> Match | None:
    """The route for a request, or None (the caller gets 404: unknown paths and methods look alike)."""
    if any(segment in {".", ".."} for segment in path.split("/")):
        return None  # the service's URL must be the one the table names, not a neighbour of it
    for route in ROUTES:
        if route.method == method and (found := route.regex.match(path)):
            params = found.groupdict()
            return Match(route.service, route.scope, route.kind, route.path, route.upstream_url_path(params), params)
    for prefix in PREFIX_ROUTES:
        if prefix.matches(path):
            return Match(prefix.service, prefix.scope(method), Kind.plain, prefix.prefix + "/…", path, {})
    return None
