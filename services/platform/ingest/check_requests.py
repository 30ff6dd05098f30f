"""Check requests as the centres meet them: the answers an upload gives to the requests registry-svc issued to
its centre, and — with data minimisation on (`DATA_MINIMISATION`) — the rule that a centre keeps only the rows of
requested people.

registry-svc issues the requests (registry_svc/check_requests.py): per city and centre (社保中心, 公积金中心),
the people then registered there. An upload that names one (`?check_request=HC-…`), and every upload while
minimisation is on, first asks registry-svc which of its centre's requests it may answer (one call, before a
byte of the upload is read: a wrong reference is refused at once, and the lists in force when the upload
started decide for all of its rows). Then, per row, like `out_of_scope`:

- with minimisation on, a row whose person is on none of those requests for the row's region is rejected as
  `not_requested`, and nothing of it is stored (not even the person);
- a kept row of a person on a request answers that request: the pairs are stored with the batch
  (`check_answers`), in its transaction, and a retracted batch answers nothing. registry-svc reads the
  answers back (`ANSWERS_PATH`) for a request's status.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import asyncpg
import httpx
from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from ingest.admission import Admission
from ingest.feeds import BatchContext, Problem, Row
from kernel.deps import CallerDep, DbConnection, RuntimeDep
from kernel.errors import Invalid, Unavailable
from kernel.regions import region_prefix
from kernel.service import Runtime

log = logging.getLogger(__name__)

REQUESTED_PATH = "/internal/check-requests/requested"  # registry-svc's
ANSWERS_PATH = "/internal/check-answers"  # insurance-svc's and fund-svc's
# HC-<city>-<year>-<nnnnnn> (核查): as printed on the request.
CHECK_REQUEST_PATTERN = r"^HC-\d{6}-\d{4}-\d{6,}$"
NOT_REQUESTED = Problem(
    None,
    "not_requested",
    "the person is on no check request issued to this centre for the row's region (data minimisation)",
)


class Centre(StrEnum):
    """Who a check request is issued to; the value is the name of the service that holds the centre's data."""

    insurance = "insurance"  # 社会保险事业服务中心
    fund = "fund"  # 住房公积金管理中心


def check_answers_table(metadata: MetaData) -> Table:
    """Which person an upload answered on which request (kept rows of a requested person)."""
    return Table(
        "check_answers",
        metadata,
        Column("request_ref", Text, nullable=False),
        Column("person_key", Text, nullable=False),
        Column("batch_id", UUID(as_uuid=True), nullable=False),
        PrimaryKeyConstraint("request_ref", "person_key", "batch_id"),
    )


# --- what registry-svc answers, and what the centres answer it -------------------------------


class RequestedList(BaseModel):
    """A request as a centre checks rows against it: its region and its people's pseudonyms."""

    request_ref: str
    region_code: str
    people: list[str]


class Requested(BaseModel):
    requests: list[RequestedList]


class AnswersQuery(BaseModel):
    refs: list[str]


class Answer(BaseModel):
    """A request's answers from one centre: how many of its people the centre's kept rows covered, and when."""

    people: int
    first_answered_at: datetime
    last_answered_at: datetime


class Answers(BaseModel):
    answers: dict[str, Answer]  # by request_ref; a request without an answer is absent


# --- at the centre: admission of an upload's rows --------------------------------------------


class CheckAdmission:
    """The requests an upload may answer, and with minimisation on, the only people it may keep (Admission)."""

    def __init__(self, requested: Sequence[RequestedList], *, minimise: bool) -> None:
        self.minimise = minimise
        self.lists: dict[str, list[tuple[str, str]]] = defaultdict(list)  # person → (request, region prefix)
        for request in requested:
            prefix = region_prefix(request.region_code)
            for person in request.people:
                self.lists[person].append((request.request_ref, prefix))
        self.answered: set[tuple[str, str]] = set()

    def refuses(self, row: Row) -> Problem | None:
        person = row["person_key"]
        region = row.get("region_code")  # None: person statuses, which hold for every region
        covering = [ref for ref, prefix in self.lists.get(person, ()) if region is None or region.startswith(prefix)]
        if not covering:
            return NOT_REQUESTED if self.minimise else None
        self.answered.update((ref, person) for ref in covering)
        return None

    async def record(self, pg: asyncpg.Connection, batch: BatchContext) -> None:
        if self.answered:
            refs, people = zip(*self.answered, strict=True)
            await pg.execute(
                "INSERT INTO check_answers (request_ref, person_key, batch_id) "
                "SELECT ref, person, $3 FROM unnest($1::text[], $2::text[]) AS a(ref, person) ON CONFLICT DO NOTHING",
                list(refs),
                list(people),
                batch.batch_id,
            )


def admission_of(centre: Centre):
    """The upload dependency of a centre's feeds: the upload's admission, or None when the upload names no
    request and minimisation is off (then registry-svc is not asked and every valid row is kept)."""

    async def admission(
        runtime: RuntimeDep,
        caller: CallerDep,
        check_request: Annotated[
            str | None,
            Query(
                pattern=CHECK_REQUEST_PATTERN,
                description="the check request this upload answers (核查编号, e.g. HC-150100-2024-000001)",
            ),
        ] = None,
    ) -> Admission | None:
        minimise = runtime.settings.data_minimisation
        if check_request is None and not minimise:
            return None
        # Minimising, every request of the centre decides; otherwise only the one the upload names.
        requested = await _requested(runtime, centre, caller.regions, None if minimise else check_request)
        if check_request is not None and all(r.request_ref != check_request for r in requested.requests):
            raise Invalid(f"no check request of the {centre.value} centre in your regions has this number",
                          loc=["query", "check_request"])  # fmt: skip
        return CheckAdmission(requested.requests, minimise=minimise)

    return admission


async def _requested(runtime: Runtime, centre: Centre, regions: Sequence[str], ref: str | None) -> Requested:
    params = httpx.QueryParams([("centre", centre.value), *(("region", code) for code in regions)])
    if ref is not None:
        params = params.add("request_ref", ref)
    try:
        response = await runtime.http.get(runtime.settings.registry_url + REQUESTED_PATH, params=params, timeout=60)
        response.raise_for_status()
        return Requested.model_validate_json(response.content)
    except (httpx.HTTPError, ValueError):
        log.warning("check requests unavailable", extra={"centre": centre.value})
        raise Unavailable("registry-svc did not say which people are requested; retry later") from None


def answers_router() -> APIRouter:
    """`POST ANSWERS_PATH`: a centre's answers to the requests registry-svc asks about (service credential)."""
    router = APIRouter(include_in_schema=False)

    @router.post(ANSWERS_PATH, response_model=Answers)
    async def check_answers(query: AnswersQuery, pg: DbConnection) -> Answers:
        rows = await pg.fetch(
            "SELECT a.request_ref, count(DISTINCT a.person_key) AS people, min(b.created_at) AS first_answered_at, "
            "max(b.created_at) AS last_answered_at FROM check_answers a JOIN ingest_batches b USING (batch_id) "
            "WHERE a.request_ref = ANY($1::text[]) AND b.status <> 'retracted' GROUP BY a.request_ref",
            query.refs,
        )
        return Answers(answers={row["request_ref"]: Answer.model_validate(dict(row)) for row in rows})

    return router


async def answers_of(runtime: Runtime, centre: Centre, refs: Sequence[str]) -> dict[str, Answer]:
    """The centre's answers to these requests (asked of its service); 503 when it cannot be asked."""
    if not refs:
        return {}
    url = {Centre.insurance: runtime.settings.insurance_url, Centre.fund: runtime.settings.fund_url}[centre]
    try:
        response = await runtime.http.post(url + ANSWERS_PATH, json={"refs": list(refs)}, timeout=30)
        response.raise_for_status()
        return Answers.model_validate_json(response.content).answers
    except (httpx.HTTPError, ValueError):
        log.warning("check answers unavailable", extra={"centre": centre.value})
        raise Unavailable(f"{centre.value}-svc did not say what it answered; retry later") from None
