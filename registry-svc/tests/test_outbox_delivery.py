"""Outbox delivery after the service is killed between commit and publish.

registry-svc runs as a real process with its relay switched off, accepts an upload (rows, receipt and
outbox committed together) and is SIGKILLed before anything is published. Started again with the relay
on, it publishes exactly what was committed, and the outbox drains.
"""

from __future__ import annotations

import asyncio

import httpx

from devtools.embedded import free_port
from devtools.feeds import CSV, csv_bytes, db_value, expect_events, person_key, published
from devtools.runner import ServiceProcess, service_env
from devtools.synthetic import generate_province
from devtools.testing import TEST_CREDENTIALS, TopicTail, event_of
from domain.records import RecordKind
from kernel.events import RegistrationRecordedV1
from registry_svc.main import service

API = "/api/v1/registry"
TOPIC = RegistrationRecordedV1.topic

# Events still to publish: single-event rows, plus every record a queued change set covers.
PENDING_EVENTS = (
    "SELECT (SELECT count(*) FROM outbox WHERE change_stream IS NULL) + "
    "(SELECT count(*) FROM registrations r JOIN outbox o "
    " ON o.change_stream = 'registrations' AND o.change_id = r.change_id)"
)


def _process(registry_db, infra, tmp_path, *, relay: bool, name: str) -> ServiceProcess:
    env = service_env(
        infra, registry_db.url, OUTBOX_RELAY_ENABLED="true" if relay else "false", OUTBOX_POLL_SECONDS="0.2"
    )
    return ServiceProcess(service, port=free_port(), env=env, log_path=tmp_path / f"{name}.log")


async def test_outbox_delivery_after_kill_between_commit_and_publish(registry_db, infra, tmp_path):
    rows = [dict(r) for r in generate_province(people=60, seed=3, with_payments=False).registrations[:50]]
    subjects = {f"{r['category']}:{r['certificate_no']}": r for r in rows}

    first = _process(registry_db, infra, tmp_path, relay=False, name="first")
    second = _process(registry_db, infra, tmp_path, relay=True, name="second")
    try:
        async with TopicTail(infra.bootstrap_servers, TOPIC) as tail:
            first.start()
            await asyncio.to_thread(first.wait_ready, 60)
            async with httpx.AsyncClient(base_url=first.url, timeout=30, auth=TEST_CREDENTIALS) as client:
                response = await client.post(
                    f"{API}/registrations", content=csv_bytes(rows, RecordKind.registrations), headers=CSV
                )
            assert response.status_code == 201, response.text
            receipt = response.json()
            assert (receipt["received"], receipt["accepted"], receipt["changed"], receipt["status"]) == (
                50,
                50,
                50,
                "accepted",
            )

            first.stop(kill=True)
            assert first.process is not None and first.process.returncode == -9

            # Committed with the rows: 50 events wait in the outbox; none reached the broker.
            assert await db_value(registry_db.url, "SELECT count(*) FROM registrations") == 50
            assert await db_value(registry_db.url, "SELECT count(*) FROM outbox") >= 1
            assert await db_value(registry_db.url, PENDING_EVENTS) == 50
            expect_events(await tail.read_to_end(), 0)

            second.start()
            await asyncio.to_thread(second.wait_ready, 60)  # ready includes the relay's broker connection
            records = await published(tail, registry_db.url, exactly=50)
            assert {event_of(r)["subject"] for r in records} == set(subjects)
            assert len({event_of(r)["id"] for r in records}) == 50
            for record in records:
                event = event_of(record)
                payload = RegistrationRecordedV1.model_validate(event["data"])
                expected = person_key(subjects[event["subject"]]["id_number"])
                assert record.key == expected.encode() and payload.person_ref == expected
                assert payload.batch_id == receipt["batch_id"]
            assert await db_value(registry_db.url, PENDING_EVENTS) == 0  # the outbox drained
    finally:
        first.stop(kill=True)
        second.stop()
