"""What lets the suite recover from a fault and tells the truth while it does: the findings can be published
again from the matcher's database (to a service only), progress answers with the broker gone and stays
unsettled while the consumer fails, and a review month outside the plausible range is refused before it
sweeps anyone."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).parent))

from seeds import BAOTOU_PERSON, PEOPLE, seed

import kernel.consumer
from devtools.embedded import free_port
from devtools.feeds import published
from devtools.testing import TopicTail, caller_headers, event_of, eventually, running
from kernel.events import FindingV1, Topics
from matcher_svc.main import create_app, service

PROGRESS = "/api/v1/matcher/progress"


async def findings_by_id(matcher) -> dict[str, FindingV1]:
    response = await matcher.get("/api/v1/matcher/findings", params={"limit": "1000"})
    assert response.status_code == 200, response.text
    return {item["finding_id"]: FindingV1.model_validate(item) for item in response.json()["items"]}


async def test_a_replay_publishes_every_finding_again_as_it_is(matcher, matcher_settings) -> None:
    await seed(matcher_settings.database_url)
    conn = await asyncpg.connect(matcher_settings.database_url)
    try:  # a cleared finding is state too (case handling closes on it)
        await conn.execute(
            "UPDATE findings SET status = 'cleared', cleared_at = now() WHERE person_key = $1", BAOTOU_PERSON
        )
    finally:
        await conn.close()
    before = await findings_by_id(matcher)
    assert {finding.status for finding in before.values()} == {"open", "cleared"}

    topic = matcher_settings.topic(Topics.matcher_findings)
    async with TopicTail(matcher_settings.kafka_bootstrap_servers, topic) as tail:
        everything = {"streams": ["findings"]}
        # Only a service may ask: no credential is nobody, and a caller credential — even the
        # province's — is not a service's.
        assert (await matcher.post("/internal/replay", json=everything, auth=None)).status_code == 401
        province = caller_headers(regions=["150000"], role="province_admin")
        assert (await matcher.post("/internal/replay", json=everything, headers=province)).status_code == 403
        # Nothing changed since a future time: nothing to publish.
        later = await matcher.post("/internal/replay", json={**everything, "since": "2099-01-01T00:00:00Z"})
        assert later.status_code == 200 and later.json() == {"queued": {"findings": 0}}

        replay = await matcher.post("/internal/replay", json=everything)
        assert replay.status_code == 200 and replay.json() == {"queued": {"findings": len(PEOPLE)}}
        events = [event_of(record) for record in await published(tail, matcher_settings.database_url, exactly=2)]
    republished = {event["data"]["finding_id"]: FindingV1.model_validate(event["data"]) for event in events}
    assert republished == before
    assert {event["type"] for event in events} == {"cn.gov.construction.matcher.finding.recorded.v1"}
    assert await findings_by_id(matcher) == before  # the replay changed no finding, not even its updated_at


@pytest.fixture
def brokerless_settings(service_database, infra):
    """The matcher's settings with the broker's address pointing where nothing listens."""
    return service_database(service).settings(
        infra, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", audit_every_hours=0
    )


async def test_progress_answers_with_the_broker_unreachable_and_is_not_settled(brokerless_settings) -> None:
    async with running(create_app(brokerless_settings)) as matcher:
        response = await matcher.get(PROGRESS)
    assert response.status_code == 200, response.text
    progress = response.json()
    assert progress["unconsumed_events"] is None
    assert progress["settled"] is False and "broker_unreachable" in progress["unsettled_because"]


async def test_a_failing_consumer_keeps_progress_unsettled(matcher_settings, monkeypatch) -> None:
    # The broker answers, but the consumer cannot join it (as when it keeps losing its topics): it fails
    # and retries, while the bus holds nothing it has not applied.
    broken = True
    ensure_topics = kernel.consumer.ensure_topics

    async def ensure_topics_unless_broken(*args: Any) -> None:
        if broken:
            raise ConnectionError("the broker refused the consumer")
        await ensure_topics(*args)

    monkeypatch.setattr(kernel.consumer, "ensure_topics", ensure_topics_unless_broken)
    app = create_app(matcher_settings)
    async with running(app) as matcher:
        consumer = app.state.runtime.consumers[0]

        async def failing() -> bool:
            return consumer.failing

        await eventually(failing, timeout=10, what="the consumer to fail")
        progress = (await matcher.get(PROGRESS)).json()
        assert progress["unconsumed_events"] == 0 and progress["awaiting_evaluation"] == 0
        assert progress["settled"] is False and progress["unsettled_because"] == ["consumer_failing"]

        broken = False
        answer: dict[str, Any] = {}

        async def settled() -> bool:
            answer.update((await matcher.get(PROGRESS)).json())
            return answer["settled"]

        await eventually(settled, timeout=30, what="progress to settle once the consumer recovered")
        assert answer["unsettled_because"] == [] and not consumer.failing


def two_years_ahead() -> str:
    today = date.today()
    return f"{today.year + 2}-{today.month:02d}"


async def test_a_review_month_outside_the_plausible_range_is_refused(matcher, matcher_settings) -> None:
    for implausible in ("1900-01", "1999-12", two_years_ahead()):
        response = await matcher.put("/api/v1/matcher/review-month", json={"review_month": implausible})
        assert response.status_code == 422, implausible
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "review_month"] and implausible not in error["msg"]
    progress = (await matcher.get(PROGRESS)).json()  # no sweep started, the month stands
    assert progress["running_sweeps"] == 0 and progress["review_month"] == matcher_settings.review_month
    assert (await matcher.put("/api/v1/matcher/review-month", json={"review_month": "2000-01"})).status_code == 202


def test_a_review_month_setting_outside_the_plausible_range_is_refused() -> None:
    for implausible in ("1900-01", "1999-12", two_years_ahead()):
        with pytest.raises(ValidationError) as refused:
            service.load_settings(review_month=implausible)
        assert [error["loc"] for error in refused.value.errors()] == [("review_month",)], implausible
    # The range is the deployment's: one reaching back further accepts what lies in it.
    assert service.load_settings(review_month="1999-12", plausible_since="1999-01-01").review_month == "1999-12"
