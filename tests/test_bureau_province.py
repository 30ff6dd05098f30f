"""A province exported the way bureaus export it (devtools.bureau_export: GB18030 and xlsx, title banners,
data-element and pinyin headers, Chinese labels, every date and month form, 15-digit ID numbers, one row
per registered specialty…) and pushed through the gateway by the demo's feed clients gives exactly the
findings of the same province pushed as the product's clean CSV (issue 14).

Two suites side by side (registry, insurance, fund and matcher; databases and topics of their own), one
load each, the feeds in the same order: the bureau export through the gateway by the demo's feed clients
(the registry feeds by the construction bureau's, contributions and statuses by the 社保 centre's, deposits by
the 公积金 centre's), the clean CSV straight to the services, as the demo pushes without a gateway. Every
upload must be accepted whole; the findings that hold must then agree in everything but the batch ids. A
failure names rules, statuses and counts, never a person.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.bureau_export import ExportedFile, export_province
from devtools.demo import FEED_ORDER, GatewayAccess
from devtools.demo_clients import start_gateway
from devtools.embedded import drop_database, free_port
from devtools.runner import Infrastructure, ServiceProcess, operator_auth, start_services, wait_ready
from devtools.synthetic import SyntheticProvince, generate_province, write_csv
from domain.records import FIELDS
from fund_svc.main import service as fund_service
from gateway_svc.main import service as gateway_service
from insurance_svc.main import service as insurance_service
from kernel.service import ServiceSpec
from matcher_svc.main import service as matcher_service
from registry_svc.main import service as registry_service

PEOPLE = 300  # every scenario of the generator at least once
PROVINCE = "150000"
SEED = 1414
SUITE = ("registry", "insurance", "fund", "matcher")
SPECS: dict[str, ServiceSpec] = {
    spec.name: spec for spec in (registry_service, insurance_service, fund_service, matcher_service, gateway_service)
}
SETTLE_TIMEOUT = 120.0
# Keys of a finding's evidence that name an upload, not a fact: they differ between any two loads.
UPLOAD_KEYS = frozenset({"batch_id", "batch_ids"})


class Suite:
    """One suite (the data services and the matcher; with `gateway`, the gateway and the demo clients in
    front) on ports, databases and topics of its own. Without a gateway it is called as the demo calls
    the services without one: with the operator's credential."""

    def __init__(self, infra: Infrastructure, home: Path, name: str, *, gateway: bool) -> None:
        self.infra = infra
        self.home = home
        self.run = f"{name}_{uuid.uuid4().hex[:8]}"
        self.with_gateway = gateway
        self.names = [*SUITE, "gateway"] if gateway else list(SUITE)
        self.processes: list[ServiceProcess] = []
        self.access: GatewayAccess | None = None
        self.secrets: dict[str, str] = {}

    def launch(self) -> None:
        """Starts the processes without waiting for them (`wait_ready`): suites start side by side."""
        self.home.mkdir(parents=True)
        options: dict[str, Any] = {
            "database_prefix": f"test_bureau_{self.run}_",
            "log_dir": self.home,
            "extra_env": {"KAFKA_TOPIC_PREFIX": f"bureau{self.run}.", "OUTBOX_POLL_SECONDS": "0.2"},
            "ports": {name: free_port() for name in self.names},
            "say": lambda _: None,
            "wait": False,
        }
        self.processes += start_services(self.infra, [SPECS[name] for name in SUITE], **options)
        if self.with_gateway:
            gateway, self.secrets = start_gateway(
                self.infra,
                SPECS["gateway"],
                list(self.processes),
                clients_path=self.home / "clients.json",
                **options,
            )
            self.processes.append(gateway)

    def wait_ready(self) -> None:
        wait_ready(self.processes)
        if self.with_gateway:
            self.access = GatewayAccess.of_demo_clients(self.processes[-1].url, self.secrets)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        for name in self.names:
            asyncio.run(drop_database(self.infra.server_url, f"test_bureau_{self.run}_{name}"))

    def _call(self, method: str, service: str, path: str, *, feed: bool = False, **kwargs: Any) -> httpx.Response:
        if self.access is None:
            url = next(p.url for p in self.processes if p.spec.name == service)
            return httpx.request(method, url + path, auth=operator_auth(), timeout=120, **kwargs)
        headers = kwargs.pop("headers", {}) | self.access.headers(service if feed else None)
        return httpx.request(method, self.access.url + path, headers=headers, timeout=120, **kwargs)

    def upload(self, file: ExportedFile) -> dict[str, Any]:
        """Pushes one file as the feed client of its service does (through the gateway), or as the operator;
        its receipt."""
        service = next(spec.name for spec in SPECS.values() if file.kind.value in spec.feeds)
        headers = {"Content-Type": file.content_type, "Idempotency-Key": f"{self.run}-{file.kind.value}"}
        path = SPECS[service].feeds[file.kind.value]
        response = self._call("POST", service, path, feed=True, content=file.content, headers=headers)
        assert response.status_code == 201, f"{file.name}: {response.status_code} {response.text[:300]}"
        return response.json()

    def matcher(self, path: str, **params: str | int) -> Any:
        response = self._call("GET", "matcher", f"/api/v1/matcher{path}", params=params)
        response.raise_for_status()
        return response.json()

    def wait_settled(self) -> None:
        """Until the matcher has published, consumed and evaluated everything accepted (twice in a row)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        in_a_row = 0
        while in_a_row < 2:
            progress = self.matcher("/progress")
            in_a_row = in_a_row + 1 if progress["settled"] else 0
            if time.monotonic() > deadline:
                pytest.fail(f"the matcher did not settle in {SETTLE_TIMEOUT:.0f}s: {progress['unsettled_because']}")
            time.sleep(0.5)

    def findings(self) -> list[dict[str, Any]]:
        """Every finding of the province (as its administrator reads them through the gateway; else the operator)."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.matcher("/findings", limit=500, region_code=PROVINCE, **({"cursor": cursor} if cursor else {}))
            found += page["items"]
            if not (cursor := page["next_cursor"]):
                return found


@contextmanager
def running_suites(infra: Infrastructure, home: Path) -> Iterator[tuple[Suite, Suite]]:
    """The clean CSV's suite (services called as the operator) and the bureau export's (through the gateway),
    started side by side."""
    clean, bureau = (
        Suite(infra, home / "clean", "clean", gateway=False),
        Suite(infra, home / "bureau", "bureau", gateway=True),
    )
    try:
        clean.launch()
        bureau.launch()
        clean.wait_ready()
        bureau.wait_ready()
        yield clean, bureau
    finally:
        try:
            clean.stop()
        finally:
            bureau.stop()


def clean_files(province: SyntheticProvince) -> list[ExportedFile]:
    """The province as the product's clean CSV (Chinese headers, UTF-8), as the demo pushes it."""
    files = []
    for kind in FEED_ORDER:
        buffer = io.StringIO()
        write_csv(getattr(province, kind.value), FIELDS[kind], buffer, headers="zh", kind=kind)
        files.append(ExportedFile(kind, f"{kind.value}.csv", buffer.getvalue().encode("utf-8"), "text/csv"))
    return files


def load(suite: Suite, files: Sequence[ExportedFile]) -> list[dict[str, Any]]:
    """Pushes the files in order, waits for the matcher; the receipts."""
    receipts = [suite.upload(file) for file in files]
    suite.wait_settled()
    return receipts


# --- what is compared ----------------------------------------------------------------------------------


def _without_upload_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_upload_keys(item) for key, item in value.items() if key not in UPLOAD_KEYS}
    if isinstance(value, list):
        return [_without_upload_keys(item) for item in value]
    return value


def _units(units: list[dict[str, Any]]) -> tuple[tuple[str, str | None], ...]:
    return tuple(sorted((unit["name"], unit["uscc"]) for unit in units))


def finding_facts(finding: dict[str, Any]) -> tuple[Any, ...]:
    """What a finding says, whichever upload it came from: the person's pseudonym, the rule, its status and
    exemption, the region, the units and the whole evidence (months, units, certificates…) but the batch ids."""
    return (
        finding["person_ref"],
        finding["rule"],
        finding["status"],
        finding["exemption"],
        finding["severity"],
        finding["region_code"],
        finding["review_month"],
        _units(finding["registered_units"]),
        _units(finding["paying_units"]),
        json.dumps(_without_upload_keys(finding["evidence"]), sort_keys=True, ensure_ascii=False),
    )


def held(findings: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """The findings that hold now (a cleared one says how the uploads arrived, not what they hold)."""
    return {finding_facts(finding) for finding in findings if finding["status"] != "cleared"}


def _label(facts: tuple[Any, ...]) -> str:
    _, rule, status, exemption, *_ = facts
    return f"{rule} {status}" + (f" ({exemption})" if exemption else "")


def differences(clean: set[tuple[Any, ...]], bureau: set[tuple[Any, ...]]) -> str:
    """Counts per rule and status of what the bureau load lost, added, or holds with other facts (the same
    person, rule and status): never a person."""
    keys_clean = {facts[:4]: facts for facts in clean}
    keys_bureau = {facts[:4]: facts for facts in bureau}
    lines: Counter[str] = Counter()
    for key in keys_clean.keys() - keys_bureau.keys():
        lines[f"lost     {_label(keys_clean[key])}"] += 1
    for key in keys_bureau.keys() - keys_clean.keys():
        lines[f"added    {_label(keys_bureau[key])}"] += 1
    for key in keys_clean.keys() & keys_bureau.keys():
        if keys_clean[key] != keys_bureau[key]:
            parts = ("severity", "region", "review month", "registered units", "paying units", "evidence")
            which = [
                part for part, a, b in zip(parts, keys_clean[key][4:], keys_bureau[key][4:], strict=True) if a != b
            ]
            lines[f"changed  {_label(keys_clean[key])}: {', '.join(which)}"] += 1
    return "\n".join(f"  {line}: {count}" for line, count in sorted(lines.items()))


def receipt_line(file: ExportedFile, receipt: dict[str, Any]) -> str:
    warnings = Counter(warning["code"] for warning in receipt["warnings"])
    said = ", ".join(f"{code} {count}" for code, count in sorted(warnings.items()))
    more = f" (+{receipt['warnings_omitted']} more)" if receipt["warnings_omitted"] else ""
    return (
        f"  {file.name:<14} {receipt['status']:<18} {receipt['received']:>5} received {receipt['accepted']:>5} "
        f"accepted {receipt['rejected']:>3} rejected; {len(receipt['warnings']) + receipt['warnings_omitted']} "
        f"warnings{more}{': ' + said if said else ''}"
    )


# --- the test ------------------------------------------------------------------------------------------


def test_a_bureau_style_province_gives_the_clean_provinces_findings(infra: Infrastructure, tmp_path: Path) -> None:
    started = time.monotonic()
    with running_suites(infra, tmp_path) as (clean_suite, bureau_suite):
        suites_up = time.monotonic()
        review_month = clean_suite.matcher("/progress")["review_month"]
        assert bureau_suite.matcher("/progress")["review_month"] == review_month
        province = generate_province(people=PEOPLE, seed=SEED, province=PROVINCE, review_month=review_month)
        bureau_files, clean_csv = export_province(province), clean_files(province)
        with ThreadPoolExecutor(2) as pool:
            clean_load = pool.submit(load, clean_suite, clean_csv)
            bureau_load = pool.submit(load, bureau_suite, bureau_files)
            clean_receipts, bureau_receipts = clean_load.result(), bureau_load.result()
        loaded = time.monotonic()
        clean, bureau = held(clean_suite.findings()), held(bureau_suite.findings())

    print(f"\nsuites up in {suites_up - started:.1f}s, both loaded and matched in {loaded - suites_up:.1f}s")
    print("Receipts of the bureau-style uploads (through the gateway, the demo feed clients):")
    for file, receipt in zip(bureau_files, bureau_receipts, strict=True):
        print(receipt_line(file, receipt))
    print("Receipts of the clean CSV:")
    for file, receipt in zip(clean_csv, clean_receipts, strict=True):
        print(receipt_line(file, receipt))

    # Nothing refused, whole or by row: the two loads hold the same records.
    for receipts in (clean_receipts, bureau_receipts):
        assert [(r["feed"], r["status"], r["rejected"]) for r in receipts] == [
            (kind.value, "accepted", 0) for kind in FEED_ORDER
        ], [(r["feed"], r["status"], r["rejected"], Counter(e["code"] for e in r["errors"])) for r in receipts]
    # The export is bureau-like where it matters: extra specialty rows, 15-digit ID numbers.
    registrations = next(r for r in bureau_receipts if r["feed"] == "registrations")
    assert registrations["received"] > len(province.registrations)
    upgraded = sum(
        1 for receipt in bureau_receipts for warning in receipt["warnings"] if warning["code"] == "id_number_upgraded"
    )
    assert upgraded > 0

    # The province holds findings of several rules, exempted ones among them: the comparison is not empty.
    labels = Counter((facts[1], facts[2], facts[3]) for facts in clean)
    print("Findings of the clean load (rule, status, exemption):")
    for (rule, status, exemption), count in sorted(labels.items(), key=lambda item: tuple(map(str, item[0]))):
        print(f"  {rule:<22} {status:<9} {exemption or '':<14} {count:>4}")
    assert len({rule for rule, _, _ in labels}) >= 5
    assert len({exemption for _, status, exemption in labels if status == "exempted"}) >= 2

    if bureau != clean:  # not a set comparison's diff: that would show the evidence
        pytest.fail("the bureau-style load's findings differ from the clean load's:\n" + differences(clean, bureau))
    print(f"{len(bureau)} findings agree; the test took {time.monotonic() - started:.1f}s")
