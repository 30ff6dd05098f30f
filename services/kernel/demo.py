"""`suite up --demo`: a small synthetic province pushed through the services' own feed endpoints."""

from __future__ import annotations

import io
from collections.abc import Sequence

import httpx

from kernel.records import FIELDS, RecordKind
from kernel.runner import ServiceProcess
from kernel.synthetic import generate_province, write_csv

# Units before the people that name them; statuses before payments.
FEED_ORDER = [RecordKind.units, RecordKind.registrations, RecordKind.person_statuses, RecordKind.contributions, RecordKind.deposits]


def load_demo(processes: Sequence[ServiceProcess], *, people: int) -> None:
    province = generate_province(people=people, seed=2024)
    print(f"\nDemo: a synthetic Inner Mongolia province of {people} registered people")
    targets = {kind: (p, path) for p in processes for kind, path in p.spec.feeds.items()}
    with httpx.Client(timeout=120) as client:
        for kind in FEED_ORDER:
            if kind.value not in targets:
                continue
            process, path = targets[kind.value]
            buffer = io.StringIO()
            write_csv(getattr(province, kind.value), FIELDS[kind], buffer, headers="zh", kind=kind)
            response = client.post(
                process.url + path,
                content=buffer.getvalue().encode("utf-8"),
                headers={"Content-Type": "text/csv; charset=utf-8", "Idempotency-Key": f"demo-{kind.value}-{people}"},
            )
            response.raise_for_status()
            receipt = response.json()
            print(
                f"  {kind.value:<16} {receipt['accepted']:>6} accepted, {receipt['rejected']} rejected "
                f"→ {process.url}{path.rsplit('/', 1)[0]}/batches/{receipt['batch_id']}"
            )
