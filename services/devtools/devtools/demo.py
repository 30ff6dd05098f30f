"""`suite up --demo`: two small synthetic provinces — Inner Mongolia and Heilongjiang, the provinces of the two
shipped campaigns — pushed through the gateway with feed tokens (or, without a gateway, straight to the
services' feed endpoints), and both campaigns run on them.

Before any case opens, each province's administrator instantiates its shipped campaign for the present
(`POST /api/v1/campaigns/presets/{IM-2024|HLJ-2018}` with a start month, so that this month falls in the
campaign's investigation phase): the demo's cases join it. Once the cases are open, one case of each
province is walked to a confirmation, each step by the demo client of the level that owns it, and each
campaign's reports for this period — Inner Mongolia's summary table, Heilongjiang's monthly 汇总表 and
its phase reports — are produced as .xlsx beside the CSV files. The CSV files are kept for the README's
upload examples (Inner Mongolia's in the folder itself, Heilongjiang's in `heilongjiang/`)."""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from devtools.demo_clients import DEMO_CLIENTS, DEMO_OFFICERS, FEED_CLIENTS, get_token, read_demo_secrets
from devtools.runner import ServiceProcess, operator_auth
from devtools.synthetic import PROVINCES, generate_province, write_csv
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
class DemoProvince:
    code: str
    preset: str  # the shipped campaign it runs
    seed: int
    folder: str  # where its CSV files go, under the demo's files
    share: float  # of the requested people


DEMO_PROVINCES = (
    DemoProvince("150000", "IM-2024", 2024, "", 1.0),
    DemoProvince("230000", "HLJ-2018", 2018, "heilongjiang", 0.5),
)
CLIENT_REGIONS = {client_id: regions for client_id, _, regions, _ in DEMO_CLIENTS}


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

    @classmethod
    def of_demo_clients(cls, url: str, secrets: dict[str, str]) -> GatewayAccess:
        """Tokens of the demo's feed clients, and the province administrator's to read."""
        tokens = {service: get_token(url, client_id, secrets[client_id]) for service, client_id in FEED_CLIENTS.items()}
        reader = "demo-province-admin"
        return cls(url, tokens, get_token(url, reader, secrets[reader]))


class Officers:
    """Bearer headers of the demo's officers (through the gateway), from the demo clients' secrets; none
    without a gateway (the operator's credential then reads, and no case is walked)."""

    def __init__(self, gateway: GatewayAccess | None, clients_file: Path) -> None:
        self.gateway = gateway
        self.secrets = read_demo_secrets(clients_file) if gateway and clients_file.exists() else {}
        self.tokens: dict[str, str] = {}

    def headers(self, client_id: str) -> dict[str, str]:
        if self.gateway is None or client_id not in self.secrets:
            return {}
        if client_id not in self.tokens:
            self.tokens[client_id] = get_token(self.gateway.url, client_id, self.secrets[client_id])
        return {"Authorization": f"Bearer {self.tokens[client_id]}"}

    @property
    def can_walk(self) -> bool:
        return bool(self.secrets)


def load_demo(
    processes: Sequence[ServiceProcess], *, people: int, files: Path, gateway: GatewayAccess | None = None
) -> None:
    """Pushes both provinces feed by feed (writing each CSV, Chinese headers, UTF-8, to `files`), then runs
    both campaigns on them. The demo clients' secrets are read from `demo-clients.json` beside `files`."""
    matcher = next((p for p in processes if p.spec.name == "matcher"), None)
    cases = next((p for p in processes if p.spec.name == "case"), None)
    matcher_url = gateway.url if gateway else matcher.url if matcher else None
    case_url = gateway.url if gateway else cases.url if cases else None
    reader = gateway.headers() if gateway else {}
    officers = Officers(gateway, files.parent / "demo-clients.json")
    # The provinces' months end at the matcher's review month, so its findings are about this data.
    review_month = (
        httpx.get(matcher_url + "/api/v1/matcher/progress", headers=reader, timeout=60, auth=operator_auth()).json()[
            "review_month"
        ]
        if matcher_url
        else "2024-10"
    )
    campaigns = _start_campaigns(case_url, officers) if case_url else {}
    targets = {kind: (p, path) for p in processes for kind, path in p.spec.feeds.items()}
    for demo in DEMO_PROVINCES:
        count = max(50, int(people * demo.share))
        province = generate_province(people=count, seed=demo.seed, province=demo.code, review_month=review_month)
        name = PROVINCES[demo.code].name
        print(f"\nDemo: a synthetic {name} ({demo.code}) of {count} registered people, payments up to {review_month}")
        folder = files / demo.folder
        _push(province, targets, folder, demo, gateway, FEED_ORDER[:2])
        requests = _issue_check_requests(targets, demo, officers, gateway) if "registrations" in targets else {}
        _push(province, targets, folder, demo, gateway, FEED_ORDER[2:], answering=requests)
        if requests and {"contributions", "deposits"} <= set(targets):
            _show_check_requests(targets, demo, officers, gateway, list(requests.values()))
    if matcher_url is not None:
        _show_findings(matcher_url, reader, officers)
    if case_url is not None and cases is not None:
        _show_cases(case_url, reader, officers)
        for demo in DEMO_PROVINCES:
            campaign_id = campaigns.get(demo.code)
            if campaign_id is None:
                continue
            if officers.can_walk:
                _walk_a_case(case_url, demo.code, officers)
            _produce_reports(case_url, campaign_id, officers.headers(DEMO_OFFICERS[demo.code]["province"]), files)


def _push(
    province: Any,
    targets: dict[str, Any],
    folder: Path,
    demo: DemoProvince,
    gateway: GatewayAccess | None,
    kinds: Sequence[RecordKind],
    *,
    answering: dict[str, str] | None = None,
) -> None:
    """Pushes these feeds; a centre's payments answer its check request in `answering` (by service name)."""
    folder.mkdir(parents=True, exist_ok=True)
    # Through the gateway with the feed tokens; straight to the services (no gateway) as an operator.
    with httpx.Client(timeout=120, auth=operator_auth()) as client:
        for kind in kinds:
            if kind.value not in targets:
                continue
            process, path = targets[kind.value]
            base = gateway.url if gateway else process.url
            buffer = io.StringIO()
            write_csv(getattr(province, kind.value), FIELDS[kind], buffer, headers="zh", kind=kind)
            content = buffer.getvalue().encode("utf-8")
            (folder / f"{kind.value}.csv").write_bytes(content)
            answers = (answering or {}).get(process.spec.name) if kind is not RecordKind.person_statuses else None
            response = client.post(
                base + path,
                params={"check_request": answers} if answers else None,
                content=content,
                headers={
                    "Content-Type": "text/csv; charset=utf-8",
                    "Idempotency-Key": f"demo-{demo.code}-{kind.value}-{len(province.registrations)}",
                    **(gateway.headers(process.spec.name) if gateway else {}),
                },
            )
            response.raise_for_status()
            receipt = response.json()
            print(
                f"  {kind.value:<16} {receipt['accepted']:>6} accepted, {receipt['rejected']} rejected "
                f"→ {base}{path.rsplit('/', 1)[0]}/batches/{receipt['batch_id']}"
            )
    if RecordKind.deposits in kinds:
        print(f"  (the CSV files: {folder}/)")


def _issue_check_requests(
    targets: dict[str, Any], demo: DemoProvince, officers: Officers, gateway: GatewayAccess | None
) -> dict[str, str]:
    """The demo city's check requests (核查) to its 社保 and 公积金 centres, issued by its city officer once its
    registrations are in; the numbers by the service of each centre (its uploads then answer them)."""
    officer = DEMO_OFFICERS[demo.code]["city"]
    city = CLIENT_REGIONS[officer][0]
    registry = gateway.url if gateway else targets["registrations"][0].url
    issued = {}
    with httpx.Client(base_url=registry, timeout=60, auth=operator_auth()) as client:
        for centre in ("insurance", "fund"):
            body = {"region_code": city, "centre": centre}
            response = client.post("/api/v1/registry/check-requests", json=body, headers=officers.headers(officer))
            response.raise_for_status()
            issued[centre] = response.json()["request_ref"]
    return issued


def _show_check_requests(
    targets: dict[str, Any], demo: DemoProvince, officers: Officers, gateway: GatewayAccess | None, refs: list[str]
) -> None:
    officer = DEMO_OFFICERS[demo.code]["city"]
    registry = gateway.url if gateway else targets["registrations"][0].url
    print("  Check requests (核查), answered by the uploads that named them:")
    with httpx.Client(base_url=registry, timeout=60, auth=operator_auth()) as client:
        for ref in refs:
            response = client.get(f"/api/v1/registry/check-requests/{ref}", headers=officers.headers(officer))
            response.raise_for_status()
            request = response.json()
            print(
                f"    {ref} to the {request['centre']} centre of {request['region_name']}: {request['people']} people, "
                f"{request['status']} for {request['answered_people']} → {registry}/api/v1/registry/check-requests/{ref}"
            )


def _months_before(month: date, months: int) -> str:
    index = month.year * 12 + month.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _start_campaigns(case_url: str, officers: Officers) -> dict[str, str]:
    """Each province's shipped campaign, instantiated so that this month is in its investigation phase (by
    the province's administrator); the campaign ids by province."""
    started = {}
    today = datetime.now(UTC).date()
    with httpx.Client(base_url=case_url, timeout=60, auth=operator_auth()) as client:
        print("\nCampaigns, from the shipped presets:")
        for demo in DEMO_PROVINCES:
            admin = officers.headers(DEMO_OFFICERS[demo.code]["province"])
            presets = client.get("/api/v1/campaigns/presets", headers=admin).json()["items"]
            preset = next(p for p in presets if p["campaign_id"] == demo.preset)
            phases = {p["code"]: date.fromisoformat(p["starts_on"]) for p in preset["phases"]}
            first = min(phases.values())
            lead = (phases["investigation"].year - first.year) * 12 + phases["investigation"].month - first.month
            starts_in = _months_before(today, lead)
            response = client.post(
                f"/api/v1/campaigns/presets/{demo.preset}", json={"starts_in": starts_in}, headers=admin
            )
            if response.status_code == 409:  # instantiated by an earlier demo on this data
                campaign_id = f"{demo.preset.rsplit('-', 1)[0]}-{starts_in[:4]}"
            else:
                response.raise_for_status()
                campaign_id = response.json()["campaign_id"]
            campaign = client.get(f"/api/v1/campaigns/{campaign_id}", headers=admin).json()
            spans = ", ".join(f"{p['name']} {p['starts_on']}…{p['ends_on']}" for p in campaign["phases"])
            print(f"  {campaign_id} from {demo.preset} ({campaign['revoking_authority']}): {spans}")
            started[demo.code] = campaign_id
    return started


def _show_findings(matcher_url: str, headers: dict[str, str], officers: Officers) -> None:
    """Waits until the matcher has matched the demo, then says what it found in each province."""
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
        for demo in DEMO_PROVINCES:
            reader = officers.headers(DEMO_OFFICERS[demo.code]["province"]) or headers
            found: Counter[tuple[str, str]] = Counter()
            cursor = None
            while True:
                params: dict[str, str | int] = {"limit": 1000, "region_code": demo.code}
                params |= {"cursor": cursor} if cursor else {}
                page = client.get("/findings", params=params, headers=reader).json()
                found.update((f["rule"], f["status"]) for f in page["items"] if f["status"] != "cleared")
                if not (cursor := page["next_cursor"]):
                    break
            print(
                f"\nFindings of {demo.code} (open / exempted), with evidence at {matcher_url}/api/v1/matcher/findings:"
            )
            for rule in sorted({rule for rule, _ in found}):
                print(f"  {rule:<20} {found[(rule, 'open')]:>4} open  {found[(rule, 'exempted')]:>4} exempted")


def _show_cases(base_url: str, headers: dict[str, str], officers: Officers) -> None:
    """Waits until case-svc's cases hold still, then counts each province's open ones (and those withdrawn
    because their findings cleared while the uploads were still arriving)."""
    with httpx.Client(base_url=base_url, timeout=60, auth=operator_auth()) as client:
        for demo in DEMO_PROVINCES:
            reader = officers.headers(DEMO_OFFICERS[demo.code]["province"]) or headers
            last, counts = None, (0, 0)
            for _ in range(60):
                counts = (_count(client, "open", demo.code, reader), _count(client, "closed", demo.code, reader))
                if counts[0] and counts == last:
                    break
                last = counts
                time.sleep(1.5)
            params: dict[str, str | int] = {"limit": 1, "status": "open", "region_code": demo.code}
            first = client.get("/api/v1/cases", params=params, headers=reader).json()["items"]
            print(
                f"\nCases of {demo.code}: {counts[0]} open from the open findings ({counts[1]} withdrawn: their "
                f"findings cleared as the uploads arrived), at {base_url}/api/v1/cases?status=open&region_code={demo.code}"
            )
            if first:
                # A case is named by its number as well as its id.
                print(
                    f"  e.g. {first[0]['case_ref']}: {base_url}/api/v1/cases/{first[0]['case_ref']}  (walk one: case-svc/README.md)"
                )


def _count(client: httpx.Client, status: str, region_code: str, headers: dict[str, str]) -> int:
    count, cursor = 0, None
    while True:
        params: dict[str, str | int] = {"limit": 1000, "status": status, "region_code": region_code}
        page = client.get("/api/v1/cases", params=params | ({"cursor": cursor} if cursor else {}), headers=headers)
        body = page.json()
        count += len(body["items"])
        if not (cursor := body["next_cursor"]):
            return count


def _walk_a_case(base_url: str, province: str, officers: Officers) -> None:
    """An open case of the demo county with a province-managed certificate (二级…), walked to a confirmation:
    notice, answer and county review by the county, city review by the city, the decision by the province."""
    who = {level: officers.headers(client_id) for level, client_id in DEMO_OFFICERS[province].items()}
    region = CLIENT_REGIONS[DEMO_OFFICERS[province]["county"]][0]
    with httpx.Client(base_url=base_url, timeout=60) as client:
        chosen = None
        cursor = None
        while chosen is None:
            params: dict[str, str | int] = {"status": "open", "region_code": region, "limit": 100}
            params |= {"cursor": cursor} if cursor else {}
            page = client.get("/api/v1/cases", params=params, headers=who["county"]).json()
            for summary in page["items"]:
                case = client.get(f"/api/v1/cases/{summary['case_ref']}", headers=who["county"]).json()
                open_certificates = [
                    entry.get("category", "")
                    for finding in case["findings"]
                    if finding["status"] == "open"
                    for entry in finding["evidence"].get("registered", [])
                ]
                if any(category.endswith("_2") for category in open_certificates):
                    chosen = case
                    break
            if chosen is None and not (cursor := page["next_cursor"]):
                print(f"\n(no open case of {region} with a province-managed certificate to walk)")
                return
        ref = chosen["case_ref"]
        for action, body, level in (
            ("notice", {"notice_ref": "示例函〔2026〕1号"}, "county"),
            ("answer", {"kind": "insurance_now_matches", "evidence_refs": ["社保缴费证明"]}, "county"),
            (
                "county-review",
                {"opinion": "注册单位与社保缴费单位不一致属实", "proposed_outcome": "confirmed"},
                "county",
            ),
            ("city-review", {"opinion": "同意"}, "city"),
            ("decision", {"outcome": "confirmed", "reason": "认定挂证，撤销注册", "fine": "10000"}, "province"),
        ):
            response = client.post(f"/api/v1/cases/{ref}/{action}", json=body, headers=who[level])
            response.raise_for_status()
        decided = response.json()
        revoked = [r["certificate_no"] for r in decided["sanctions"]["revocations"]]
        print(
            f"\nWalked {ref} ({region}) to {decided['status_label']} by its county, city and province "
            f"({', '.join(DEMO_OFFICERS[province].values())}): revoked {', '.join(revoked) or 'none'}"
            f" — its timeline: {base_url}/api/v1/cases/{ref}/timeline"
        )


def _produce_reports(base_url: str, campaign_id: str, headers: dict[str, str], files: Path) -> None:
    """Each of the campaign's reports whose period holds today, as JSON (a line of its totals) and as .xlsx
    (into `files`/<campaign>/); the rest are listed where they are produced."""
    today = datetime.now(UTC).date()
    folder = files / campaign_id
    folder.mkdir(parents=True, exist_ok=True)
    with httpx.Client(base_url=base_url, headers=headers, timeout=120, auth=operator_auth()) as client:
        reports = client.get(f"/api/v1/reports/campaigns/{campaign_id}", params={"limit": 1000}).json()["items"]
        print(
            f"\nReports of {campaign_id} ({len(reports)}; each as JSON, or format=csv|xlsx): {base_url}/api/v1/reports/campaigns/{campaign_id}"
        )
        for report in reports:
            period = report["period"]
            current = date.fromisoformat(period["from"]) <= today <= date.fromisoformat(period["to"])
            if not current:
                continue
            table = client.get(report["path"])
            table.raise_for_status()
            totals = table.json()["totals"]
            xlsx = client.get(report["path"], params={"format": "xlsx"})
            xlsx.raise_for_status()
            target = folder / f"{report['report_id']}.xlsx"
            target.write_bytes(xlsx.content)
            print(
                f"  {report['title']} (due {report['due_on']}): 核查人数 {totals['people_checked']}, "
                f"立案 {totals['cases_opened']}, 认定挂证 {totals['confirmed']} → {target}"
            )
