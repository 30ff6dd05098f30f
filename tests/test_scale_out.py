"""Scale-out (issue 16, docs/scale-out.md): two instances of each consuming service give the same findings and
cases as one.

Two suites side by side on one infrastructure (databases and topics of their own): one with one process of
registry-svc, insurance-svc, fund-svc, the matcher and case-svc, one with two of each — the second process on
another port, with the same database and consumer groups (`devtools.runner.start_services(instances=…)`).
The same small province goes to both, feed by feed, each feed in two files split by person sent side by side
(file i to instance i mod n). Afterwards every finding (person, rule, status, exemption, severity, region,
evidence but the batch ids) and every case (person, status, findings it carries) must be the same, and the
work must really have been shared: both matcher instances applied events, both case-svc instances applied
findings, both instances of each data service ingested rows, and one relay per database published (the
other stands by behind the advisory lock) — and without a fault: no process logged an error (a consumer that
fails starts over and hides it, as two case-svc instances deadlocking on the case-number counters did).

A thousand people: enough that a batch of findings opens cases in many counties at once, and that a
first load keeps both matcher instances busy at the same time. A failure names rules, statuses and
counts, never a person.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from devtools.bench_scale import (
    FEEDS,
    REVIEW_MONTH,
    Outcome,
    ScaledSuite,
    applied_events,
    metric,
)
from devtools.runner import Infrastructure
from devtools.synthetic import generate_province

PEOPLE = 1000
SEED = 1605
SETTLE_TIMEOUT = 180.0


@contextmanager
def two_suites(infra: Infrastructure, home: Path) -> Iterator[tuple[ScaledSuite, ScaledSuite]]:
    run = uuid.uuid4().hex[:6]
    one, two = (ScaledSuite(infra, home / f"x{n}", instances=n, database_prefix=f"test_scale{n}_{run}") for n in (1, 2))
    try:
        one.launch()
        two.launch()
        one.wait_ready()
        two.wait_ready()
        yield one, two
    finally:
        try:
            one.stop()
        finally:
            two.stop()


def differences(one: Outcome, two: Outcome) -> str:
    """Counts per rule and status (cases: per status) of what two instances lost, added or hold otherwise."""
    lines: Counter[str] = Counter()
    by_key_one = {finding[:3]: finding for finding in one.findings}
    by_key_two = {finding[:3]: finding for finding in two.findings}
    for key in by_key_one.keys() - by_key_two.keys():
        lines[f"finding lost     {key[1]} {key[2]}"] += 1
    for key in by_key_two.keys() - by_key_one.keys():
        lines[f"finding added    {key[1]} {key[2]}"] += 1
    for key in by_key_one.keys() & by_key_two.keys():
        if by_key_one[key] != by_key_two[key]:
            lines[f"finding changed  {key[1]} {key[2]} (exemption, severity, region or evidence)"] += 1
    for (_, status, carried), count in (one.cases - two.cases).items():
        lines[f"case lost        {status} carrying {carried}"] += count
    for (_, status, carried), count in (two.cases - one.cases).items():
        lines[f"case added       {status} carrying {carried}"] += count
    return "\n".join(f"  {line}: {count}" for line, count in sorted(lines.items()))


def test_two_instances_of_each_consuming_service_match_one(infra: Infrastructure, tmp_path: Path) -> None:
    started = time.monotonic()
    province = generate_province(people=PEOPLE, seed=SEED, review_month=REVIEW_MONTH)
    with two_suites(infra, tmp_path) as (one, two):
        up = time.monotonic()
        assert len(one.processes) == 5 and len(two.processes) == 10
        with ThreadPoolExecutor(2) as pool:
            loads = [pool.submit(suite.push, province) for suite in (one, two)]
            pushed = [load.result() for load in loads]
        for suite in (one, two):
            suite.wait_settled(SETTLE_TIMEOUT)
        settled = time.monotonic()
        outcomes = [suite.outcome() for suite in (one, two)]

        # The work was shared: every instance of the scaled suite did its part.
        ingested = {
            name: [metric(process, "ingest_rows_total", outcome="accepted") for process in two.of(name)]
            for name in FEEDS
        }
        projection = [applied_events(process, "projection") for process in two.of("matcher")]
        cases_applied = [applied_events(process, "findings") for process in two.of("case")]
        published = {
            name: [metric(process, "outbox_published_total") for process in two.of(name)]
            for name in ("registry", "insurance", "fund", "matcher")
        }

    print(
        f"\nsuites up in {up - started:.1f}s, both loaded ({pushed[0].rows} rows each) and settled in "
        f"{settled - up:.1f}s; two instances: rows ingested {ingested}, events applied by the matcher's "
        f"instances {projection}, findings events by case-svc's {cases_applied}, events published {published}"
    )
    assert pushed[0].rows == pushed[1].rows > 0
    for name, rows in ingested.items():
        assert len(rows) == 2 and all(count > 0 for count in rows), f"{name}: rows per instance {rows}"
    assert len(projection) == 2 and all(count > 0 for count in projection), projection
    assert len(cases_applied) == 2 and all(count > 0 for count in cases_applied), cases_applied
    for name, counts in published.items():  # the relay is a lease: one instance publishes, the other waits
        assert sorted(count > 0 for count in counts) == [False, True], f"{name}: events published per instance {counts}"

    # Side by side without a fault: no deadlock between instances, no consumer that had to start over.
    for suite in (one, two):
        assert not (errors := suite.errors()), f"{suite.instances} instance(s): errors in the logs: {dict(errors)}"

    clean, scaled = outcomes
    rules = Counter((finding[1], finding[2]) for finding in clean.findings)
    print("Findings of one instance each (rule, status):")
    for (rule, status), count in sorted(rules.items()):
        print(f"  {rule:<22} {status:<9} {count:>4}")
    print(f"cases: {Counter(status for _, status, _ in clean.cases.elements())}")
    assert len({rule for rule, _ in rules}) >= 5 and sum(clean.cases.values()) > 0  # the comparison is not empty
    if scaled != clean:  # not pytest's diff of the sets: that would show the evidence
        pytest.fail("two instances of each service differ from one:\n" + differences(clean, scaled))
    print(
        f"{len(clean.findings)} findings and {sum(clean.cases.values())} cases agree; "
        f"the test took {time.monotonic() - started:.1f}s"
    )
