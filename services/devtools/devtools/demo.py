"""`suite up --demo`: a small synthetic province pushed through the gateway with feed tokens (or, without a
gateway, straight to the services' feed endpoints). Its CSV files are kept for the README's upload examples."""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools.runner import ServiceProcess, operator_auth
from devtools.synthetic import generate_province, write_csv
from domain.records import FIELDS, RecordKind

# Units before the people that name them; statuses before payments.
FEED_ORDER = [
    RecordKind.units,
    RecordKind.registrations,
    RecordKind.person_statuses,
    RecordKind.contributions,
    RecordKind.deposits,
]


@dataclass(frozen=True)
class GatewayAccess:
    """Push and read through the gateway, as bureaus and officers do: feed tokens per service, a reader's
    (one that may read findings and cases)."""

    url: str
    feed_tokens: dict[str, str]  # service name -> bearer token
    reader_token: str

    def headers(self, service: str | None = None) -> dict[str, str]:
        token = self.feed_tokens[service] if service else self.reader_token
        return {"Authorization": f"Bearer {token}"}


def load_demo(
    processes: Sequence[ServiceProcess], *, people: int, files: Path, gateway: GatewayAccess | None = None
) -> None:
    """Pushes the province feed by feed, writing each CSV (Chinese headers, UTF-8) to `files` as well."""
    matcher = next((p for p in processes if p.spec.name == "matcher"), None)
    matcher_url = gateway.url if gateway else matcher.url if matcher else None
    reader = gateway.headers() if gateway else {}
    # The province's months end at the matcher's review month, so its findings are about this data.
    review_month = (
        httpx.get(matcher_url + "/api/v1/matcher/progress", headers=reader, timeout=60, auth=operator_auth()).json()[
            "review_month"
        ]
        if matcher_url
        else "2024-10"
    )
    province = generate_province(people=people, seed=2024, review_month=review_month)
    print(f"\nDemo: a synthetic Inner Mongolia province of {people} registered people, payments up to {review_month}")
    targets = {kind: (p, path) for p in processes for kind, path in p.spec.feeds.items()}
    files.mkdir(parents=True, exist_ok=True)
    # Through the gateway with the feed tokens; straight to the services (no gateway) as an operator.
    with httpx.Client(timeout=120, auth=operator_auth()) as client:
        for kind in FEED_ORDER:
            if kind.value not in targets:
                continue
            process, path = targets[kind.value]
            base = gateway.url if gateway else process.url
            buffer = io.StringIO()
            write_csv(getattr(province, kind.value), FIELDS[kind], buffer, headers="zh", kind=kind)
            content = buffer.getvalue().encode("utf-8")
            (files / f"{kind.value}.csv").write_bytes(content)
            response = client.post(
                base + path,
                content=content,
                headers={
                    "Content-Type": "text/csv; charset=utf-8",
                    "Idempotency-Key": f"demo-{kind.value}-{people}",
                    **(gateway.headers(process.spec.name) if gateway else {}),
                },
            )
            response.raise_for_status()
            receipt = response.json()
            print(
                f"  {kind.value:<16} {receipt['accepted']:>6} accepted, {receipt['rejected']} rejected "
                f"→ {base}{path.rsplit('/', 1)[0]}/batches/{receipt['batch_id']}"
            )
    print(f"  (the CSV files: {files}/)")
    if matcher_url is not None:
        _show_findings(matcher_url, reader)
    cases = next((p for p in processes if p.spec.name == "case"), None)
    if cases is not None:
        _show_cases(gateway.url if gateway else cases.url, reader)


def _show_findings(matcher_url: str, headers: dict[str, str]) -> None:
    """Waits until the matcher has matched the demo, then says what it found."""
    with httpx.Client(
        base_url=matcher_url + "/api/v1/matcher", headers=headers, timeout=60, auth=operator_auth()
    ) as client:
        for _ in range(120):
            if client.get("/progress").json()["settled"]:
                break
            time.sleep(1)
        time.sleep(2)  # the services' relays publish within a second or two of the receipts
        while not client.get("/progress").json()["settled"]:
            time.sleep(1)
        found: Counter[tuple[str, str]] = Counter()
        cursor = None
        while True:
            page = client.get("/findings", params={"limit": 1000, **({"cursor": cursor} if cursor else {})}).json()
            found.update((f["rule"], f["status"]) for f in page["items"] if f["status"] != "cleared")
            if not (cursor := page["next_cursor"]):
                break
    print("\nFindings (open / exempted), with evidence at " + matcher_url + "/api/v1/matcher/findings:")
    for rule in sorted({rule for rule, _ in found}):
        print(f"  {rule:<20} {found[(rule, 'open')]:>4} open  {found[(rule, 'exempted')]:>4} exempted")


def _show_cases(base_url: str, headers: dict[str, str]) -> None:
    """Waits until case-svc's cases hold still, then counts the open ones (and those withdrawn because
    their findings cleared while the uploads were still arriving)."""
    with httpx.Client(base_url=base_url, headers=headers, timeout=60, auth=operator_auth()) as client:
        last, counts = None, (0, 0)
        for _ in range(60):
            counts = (_count(client, "open"), _count(client, "closed"))
            if counts[0] and counts == last:
                break
            last = counts
            time.sleep(1.5)
        first = client.get("/api/v1/cases", params={"limit": 1, "status": "open"}).json()["items"]
    print(
        f"\nCases: {counts[0]} open from the open findings ({counts[1]} withdrawn: their findings cleared as the "
        f"uploads arrived), at {base_url}/api/v1/cases?status=open"
    )
    if first:
        print(
            f"  e.g. {first[0]['case_ref']}: {base_url}/api/v1/cases/{first[0]['case_id']}  (walk one: case-svc/README.md)"
        )


def _count(client: httpx.Client, status: str) -> int:
    count, cursor = 0, None
    while True:
        params: dict[str, str | int] = {"limit": 1000, "status": status, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/cases", params=params).json()
        count += len(page["items"])
        if not (cursor := page["next_cursor"]):
            return count
