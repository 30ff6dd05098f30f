"""The benchmarks' baseline: the rule catalog (DOMAIN §6) as one DuckDB pass over a province's CSV files.

`duckdb_findings(files, review_month)` reads the files the province benchmark uploads (English headers,
the values as `devtools.synthetic.write_csv` writes them) with DuckDB's CSV reader and computes every
finding in SQL: the scope and window (§6.0), "same unit" (§6.1: normalised names, former names, the
ambiguous and other-unit guards), the nine rules (§6.2) and the exemptions derived from data (§6.3:
RETIRED, SI_BOUGHT_OUT, BRANCH_OFFICE). It answers what the matcher would, without its evidence: per
person (keyed by the ID number, which never leaves the process) the rules that fire, open or exempted.

The readings are matcher-svc's (`matcher_svc.rules`, `matcher_svc.resolution`), set-wise:

* a payer is one (person, USCC) in the window (a payment row without a USCC is refused by ingest, and left out
  here); it is the registered unit when one of the person's active registrations resolves to it under one of
  the names its rows carry (the matcher resolves a payer under the names of the months it has looked at; the
  files name a payer one way);
* each certificate and each unit is listed once (the registry keeps the last state of either; the generated
  files never repeat one), and the values are the canonical ones the generator writes (English codes,
  ISO dates; a YYYYMM month is read as YYYY-MM);
* exemptions granted in case handling are not in the files: only the derived ones apply;
* `SI_NONE`'s "data delivered for the province" is any contribution row of the province in the window.

Name normalisation is `domain.identifiers.normalize_unit_name`, applied once per distinct spelling.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from devtools.bench import scratch_folder
from devtools.synthetic import SyntheticProvince, generate_province, write_csv
from domain.categories import AGE_LIMITED
from domain.identifiers import normalize_unit_name
from domain.records import FIELDS, RecordKind

Finding = tuple[str, str, str, str | None]  # (id_number, rule, "open" | "exempted", exemption or None)
Label = tuple[str, str, str | None]  # (rule, status, exemption): one finding of one person

PUBLIC_KINDS = ("government", "public_institution", "university")
FEEDS = tuple(kind.value for kind in RecordKind)  # units, registrations, contributions, person_statuses, deposits


@dataclass(frozen=True)
class Baseline:
    findings: frozenset[Finding]
    seconds: float  # reading the files included
    people: int  # evaluated: with at least one active registration

    def by_person(self) -> dict[str, frozenset[Label]]:
        """Per ID number, its findings as (rule, status, exemption)."""
        out: dict[str, set[Label]] = {}
        for person, rule, status, exemption in self.findings:
            out.setdefault(person, set()).add((rule, status, exemption))
        return {person: frozenset(labels) for person, labels in out.items()}

    def counts(self) -> Counter[tuple[str, str]]:
        """How many findings per (rule, status)."""
        return Counter((rule, status) for _, rule, status, _ in self.findings)


def window(review_month: str, window_months: int) -> tuple[list[str], date, date]:
    """The window's months (oldest first, ending with M), the first day of M and of the month after."""
    year, month = int(review_month[:4]), int(review_month[5:7])
    index = year * 12 + month - 1
    months = [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - window_months + 1, index + 1)]
    return months, date(year, month, 1), date((index + 1) // 12, (index + 1) % 12 + 1, 1)


def duckdb_findings(
    files: Mapping[str, Path], review_month: str, window_months: int = 6, mismatch_months: int = 2
) -> Baseline:
    """The findings of the rule catalog over the CSV files of one province (`files`: record kind → path,
    the kinds of `FEEDS`), computed by DuckDB, and the seconds it took from opening the files."""
    months, first_day, after = window(review_month, window_months)
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        settings = {name: str(files[name]) for name in FEEDS} | {
            "months": months,
            "first_day": first_day,
            "after": after,
            "need": mismatch_months,
            "public_kinds": list(PUBLIC_KINDS),
            "age_limited": sorted(str(category) for category in AGE_LIMITED),
        }
        for name, value in settings.items():
            con.execute(f"SET VARIABLE {name} = ?", [value])
        con.execute(_READ)
        # Every spelling of a unit name, normalised once in Python (NFKC and the bracket fold are Python's).
        raw = [row[0] for row in con.execute(_SPELLINGS).fetchall()]
        con.execute(
            "CREATE TEMP TABLE names AS SELECT unnest($raw) AS raw, unnest($norm) AS norm",
            {"raw": raw, "norm": [normalize_unit_name(name) for name in raw]},
        )
        con.execute(_RULES)
        findings = frozenset(con.execute("SELECT person, rule, status, exemption FROM findings").fetchall())
        # People are keyed by a 64-bit hash of the ID number (faster to group by than the text): never two in one.
        row = con.execute("SELECT count(DISTINCT person), count(DISTINCT id_number) FROM reg").fetchone()
        people, ids = row if row else (0, 0)
        if people != ids:
            raise RuntimeError("two ID numbers hash alike")
    finally:
        con.close()
    return Baseline(findings=findings, seconds=time.perf_counter() - started, people=people)


def write_province(province: SyntheticProvince, folder: Path) -> dict[str, Path]:
    """The province's CSV files as the province benchmark writes them (English headers, UTF-8); by kind."""
    files = {}
    for kind in RecordKind:
        files[kind.value] = folder / f"{kind.value}.csv"
        with files[kind.value].open("w", encoding="utf-8", newline="") as f:
            write_csv(getattr(province, kind.value), FIELDS[kind], f, kind=kind)
    return files


def benchmark(people: int | None) -> None:
    """`suite bench duckdb-rules [--people N]`: the province of `matcher-province` (default 100,000 people, 6
    months of payments, the same seed) written as CSV, then one DuckDB pass of the rules over the files."""
    people = people or 100_000
    review_month = "2024-10"
    print(f"duckdb-rules: generating a province of {people:,} people with 6 months of payments…", flush=True)
    province = generate_province(people=people, seed=11, review_month=review_month, months=6)
    rows = sum(len(getattr(province, kind.value)) for kind in RecordKind)
    with scratch_folder() as folder:
        files = write_province(province, folder)
        size = sum(path.stat().st_size for path in files.values())
        result = duckdb_findings(files, review_month)
    print(
        f"\nduckdb-rules: {people:,} people, {rows:,} rows in 5 CSV files ({size / 1e6:.1f} MB), review month {review_month}"
    )
    print(f"  one DuckDB pass, reading included   {result.seconds:7.2f} s   {rows / result.seconds:>12,.0f} rows/s")
    print(f"  people evaluated (active registration): {result.people:,}; findings: {len(result.findings):,}")
    counts = result.counts()
    for rule in sorted({rule for rule, _ in counts}):
        print(f"    {rule:<20} open {counts[rule, 'open']:>7,}   exempted {counts[rule, 'exempted']:>7,}")


# The files, read as text and trimmed to what the rules look at: active registrations, payments in the window.
_READ = """
CREATE MACRO blank(v) AS nullif(trim(v), '');
CREATE MACRO month_of(p) AS CASE WHEN length(trim(p)) = 6 THEN p[1:4] || '-' || p[5:6] ELSE trim(p) END;

CREATE TEMP TABLE unit AS
SELECT trim(uscc) AS uscc, name, former_names, blank(kind) AS kind, blank(head_office_uscc) AS head
FROM read_csv(getvariable('units'), header = true, all_varchar = true);

CREATE TEMP TABLE reg AS
SELECT hash(upper(trim(id_number))) AS person, upper(trim(id_number)) AS id_number, trim(category) AS category,
       unit_name, blank(unit_uscc) AS uscc, trim(region_code) AS region_code, TRY_CAST(registered_on AS DATE) AS registered_on
FROM read_csv(getvariable('registrations'), header = true, all_varchar = true)
WHERE trim(status) = 'active';

CREATE TEMP TABLE paid AS
SELECT 'insurance' AS source, hash(upper(trim(id_number))) AS person, month_of(period) AS period,
       blank(unit_uscc) AS uscc, unit_name, trim(region_code) AS region_code
FROM read_csv(getvariable('contributions'), header = true, all_varchar = true)
WHERE list_contains(getvariable('months'), month_of(period)) AND blank(unit_uscc) IS NOT NULL
UNION ALL
SELECT 'fund', hash(upper(trim(id_number))), month_of(period), blank(unit_uscc), unit_name, trim(region_code)
FROM read_csv(getvariable('deposits'), header = true, all_varchar = true)
WHERE list_contains(getvariable('months'), month_of(period)) AND blank(unit_uscc) IS NOT NULL;

CREATE TEMP TABLE status AS
SELECT hash(upper(trim(id_number))) AS person, trim(status) AS status, TRY_CAST(blank(since) AS DATE) AS since
FROM read_csv(getvariable('person_statuses'), header = true, all_varchar = true);
"""

_SPELLINGS = """
SELECT name FROM unit WHERE name IS NOT NULL
UNION SELECT trim(unnest(string_split_regex(former_names, '[;；、|]'))) FROM unit WHERE former_names IS NOT NULL
UNION SELECT unit_name FROM reg WHERE unit_name IS NOT NULL
UNION SELECT DISTINCT unit_name FROM paid WHERE unit_name IS NOT NULL
"""

_RULES = """
-- The unit directory: current name, former names (normalised), kind, head office.
CREATE TEMP TABLE directory AS
WITH former AS (
    SELECT uscc, trim(unnest(string_split_regex(former_names, '[;；、|]'))) AS raw FROM unit WHERE former_names IS NOT NULL
), former_norm AS (
    SELECT f.uscc, list(DISTINCT n.norm) AS former FROM former f JOIN names n ON n.raw = f.raw WHERE n.norm <> ''
    GROUP BY f.uscc
)
SELECT u.uscc, coalesce(n.norm, '') AS name_norm, u.kind, u.head, coalesce(f.former, []) AS former
FROM unit u LEFT JOIN names n ON n.raw = u.name LEFT JOIN former_norm f USING (uscc);

-- Per normalised name: the units bearing it now, and those that bore it before.
CREATE TEMP TABLE name_holders AS
WITH bearing AS (
    SELECT uscc, name_norm AS norm, true AS current FROM directory WHERE name_norm <> ''
    UNION ALL SELECT uscc, unnest(former), false FROM directory
)
SELECT norm,
       count(DISTINCT uscc) FILTER (WHERE current) AS n_current, min(uscc) FILTER (WHERE current) AS current_uscc,
       count(DISTINCT uscc) FILTER (WHERE NOT current) AS n_former, min(uscc) FILTER (WHERE NOT current) AS former_uscc
FROM bearing GROUP BY norm;

-- Active registrations, resolved through the directory (resolution.prepare).
CREATE TEMP TABLE registered AS
SELECT r.person, r.id_number, r.category, r.region_code, r.registered_on, r.uscc, coalesce(n.norm, '') AS name_norm,
       CASE WHEN r.uscc IS NOT NULL THEN r.uscc
            WHEN h.n_current = 1 THEN h.current_uscc
            WHEN coalesce(h.n_current, 0) = 0 AND h.n_former = 1 THEN h.former_uscc END AS resolved,
       -- the units currently bearing the registered name (for a registration without USCC)
       CASE WHEN r.uscc IS NULL THEN coalesce(h.n_current, 0) ELSE 0 END AS n_holders,
       h.current_uscc AS holder,
       row_number() OVER () AS id
FROM reg r
LEFT JOIN names n ON n.raw = r.unit_name
LEFT JOIN name_holders h ON h.norm = n.norm AND n.norm <> '';

CREATE TEMP TABLE registered_unit AS
SELECT r.*, d.name_norm AS resolved_name, d.former AS resolved_former, d.head AS resolved_head
FROM registered r LEFT JOIN directory d ON d.uscc = r.resolved;

-- The people evaluated: with an active registration (§6.0).
CREATE TEMP TABLE person AS
SELECT person, any_value(id_number) AS id_number, strftime(max(registered_on), '%Y-%m') AS start_month,
       bool_or(list_contains(getvariable('age_limited'), category)) AS age_limited, count(*) AS active,
       list(DISTINCT left(region_code, 2)) AS provinces
FROM registered GROUP BY person;

-- Per person, source and payer (by USCC): the months it paid and the names on its rows.
CREATE TEMP TABLE paid_by AS
SELECT m.source, m.person, m.uscc AS payer, list(DISTINCT m.period) AS periods, list(DISTINCT m.unit_name) AS spellings
FROM paid m SEMI JOIN person USING (person) GROUP BY m.source, m.person, m.uscc;

-- Per person and source: the latest month with data, and the last `need` months with data from the month of
-- the latest registration on (the unit-mismatch rules skip the earlier ones).
CREATE TEMP TABLE span AS
WITH months AS (SELECT DISTINCT source, person, unnest(periods) AS period FROM paid_by)
SELECT m.source, m.person, max(m.period) AS latest,
       list_slice(list_sort(coalesce(list(m.period) FILTER (WHERE p.start_month IS NULL OR m.period >= p.start_month),
                                     []), 'DESC'), 1, getvariable('need')) AS recent
FROM months m JOIN person p USING (person) GROUP BY m.source, m.person;

-- Whether each payer paid in the latest month, or in the recent ones.
CREATE TEMP TABLE seen AS
SELECT b.source, b.person, b.payer, b.spellings, list_contains(b.periods, s.latest) AS in_latest,
       list_has_any(b.periods, s.recent) AS in_recent
FROM paid_by b JOIN span s USING (source, person);

-- Each payer of a person: is it a registered unit (resolution.resolve_prepared, under any of its names), the head
-- office or a branch of one, a public body, an HR agency?
CREATE TEMP TABLE payer AS
WITH spelled AS (
    SELECT person, payer, payer AS uscc, list(DISTINCT n.norm) AS names
    FROM (SELECT person, payer, unnest(spellings) AS raw FROM seen) JOIN names n USING (raw)
    GROUP BY person, payer
)
SELECT s.person, s.payer,
       coalesce(bool_or(
           CASE WHEN r.uscc IS NOT NULL THEN r.uscc = s.uscc
                WHEN r.name_norm = '' THEN false
                WHEN d.name_norm = r.name_norm THEN true
                WHEN r.n_holders = 0 OR (r.n_holders = 1 AND r.holder = s.uscc)
                    THEN list_contains(s.names, r.name_norm) OR coalesce(list_contains(d.former, r.name_norm), false)
                ELSE false END), false) AS same,
       coalesce(bool_or(
           s.uscc IS NOT NULL AND r.resolved IS NOT NULL AND s.uscc <> r.resolved
           AND (d.head IS NOT DISTINCT FROM r.resolved OR r.resolved_head IS NOT DISTINCT FROM s.uscc)), false) AS branch,
       coalesce(list_contains(getvariable('public_kinds'), any_value(d.kind)), false)
           OR left(coalesce(s.uscc, ''), 2) IN ('11', '12') AS public,
       coalesce(any_value(d.kind) = 'hr_agency', false) AS hr_agency
FROM spelled s
JOIN registered_unit r USING (person)
LEFT JOIN directory d ON d.uscc = s.uscc
GROUP BY s.person, s.payer, s.uscc;

-- Per person and source, what the payer rules ask of the payers.
CREATE TEMP TABLE paying AS
SELECT s.source, s.person, len(any_value(sp.recent)) = getvariable('need') AS enough,
       bool_or(s.in_recent AND y.same) AS recent_same,
       coalesce(bool_and(y.branch) FILTER (WHERE s.in_recent), false) AS recent_branch,
       count(*) FILTER (WHERE s.in_latest) AS latest_payers,
       bool_or(s.in_latest AND y.public AND NOT y.same) AS latest_public,
       bool_or(s.in_latest AND y.hr_agency) AS latest_hr_agency
FROM seen s JOIN payer y USING (person, payer) JOIN span sp USING (source, person)
GROUP BY s.source, s.person;

CREATE TEMP TABLE findings_found AS
-- SI_UNIT_MISMATCH / FUND_UNIT_MISMATCH: no payer is a registered unit in each of the last `need` months since the
-- latest registration; BRANCH_OFFICE when every payer of them is a registered unit's head office or branch.
SELECT person, CASE source WHEN 'insurance' THEN 'SI_UNIT_MISMATCH' ELSE 'FUND_UNIT_MISMATCH' END AS rule,
       CASE WHEN recent_branch THEN 'BRANCH_OFFICE' END AS auto
FROM paying WHERE enough AND NOT recent_same
UNION ALL
-- SI_MULTIPLE_UNITS / FUND_MULTIPLE_UNITS: two or more payers in the latest month with data.
SELECT person, CASE source WHEN 'insurance' THEN 'SI_MULTIPLE_UNITS' ELSE 'FUND_MULTIPLE_UNITS' END, NULL
FROM paying WHERE latest_payers >= 2
UNION ALL
-- PUBLIC_SECTOR_SI / HR_AGENCY_SI: who pays social insurance in the latest month with data.
SELECT person, 'PUBLIC_SECTOR_SI', NULL FROM paying WHERE source = 'insurance' AND latest_public
UNION ALL
SELECT person, 'HR_AGENCY_SI', NULL FROM paying WHERE source = 'insurance' AND latest_hr_agency
UNION ALL
-- SI_NONE: no contribution in the window, while the 社保 feed has data for the person's province in it.
SELECT p.person, 'SI_NONE', NULL
FROM person p
WHERE NOT EXISTS (SELECT 1 FROM span x WHERE x.source = 'insurance' AND x.person = p.person)
  AND EXISTS (SELECT 1 FROM (SELECT DISTINCT left(region_code, 2) AS province FROM paid WHERE source = 'insurance') x
              WHERE list_contains(p.provinces, x.province))
UNION ALL
-- AGE_OVER_LIMIT: an age-limited category, and the 65th birthday (29 February: 1 March) is before the first day of M.
SELECT person, 'AGE_OVER_LIMIT', NULL
FROM (SELECT person, age_limited, TRY_STRPTIME(id_number[7:14], '%Y%m%d')::DATE AS birth FROM person)
WHERE age_limited AND birth IS NOT NULL AND (
    CASE WHEN month(birth) = 2 AND day(birth) = 29
              AND NOT ((year(birth) + 65) % 4 = 0 AND ((year(birth) + 65) % 100 <> 0 OR (year(birth) + 65) % 400 = 0))
         THEN make_date(year(birth) + 65, 3, 1)
         ELSE make_date(year(birth) + 65, month(birth), day(birth)) END) < getvariable('first_day')
UNION ALL
-- MULTI_REGISTRATION: the active registrations fall into two or more units (connected groups of
-- registrations naming one unit: by resolved USCC, else by name, or one's unit bearing the other's name).
SELECT person, 'MULTI_REGISTRATION', NULL FROM (
    WITH RECURSIVE several AS (
        SELECT r.* FROM registered_unit r JOIN person p USING (person) WHERE p.active > 1
    ), edge AS (
        SELECT a.id AS a, b.id AS b FROM several a JOIN several b ON a.person = b.person AND a.id <> b.id
        WHERE CASE WHEN a.resolved IS NOT NULL AND b.resolved IS NOT NULL THEN a.resolved = b.resolved
                   WHEN a.name_norm <> '' AND a.name_norm = b.name_norm THEN true
                   ELSE coalesce(b.name_norm <> '' AND (a.resolved_name = b.name_norm
                                                         OR list_contains(a.resolved_former, b.name_norm)), false)
                     OR coalesce(a.name_norm <> '' AND (b.resolved_name = a.name_norm
                                                         OR list_contains(b.resolved_former, a.name_norm)), false) END
    ), reach(node, other) AS (
        SELECT id, id FROM several
        UNION SELECT reach.node, edge.b FROM reach JOIN edge ON edge.a = reach.other
    )
    SELECT s.person FROM (SELECT node, min(other) AS label FROM reach GROUP BY node) g JOIN several s ON s.id = g.node
    GROUP BY s.person HAVING count(DISTINCT g.label) >= 2
);

-- The exemptions derived from data (§6.3), in their order: RETIRED (SI_* and FUND_*), SI_BOUGHT_OUT (SI_NONE), BRANCH_OFFICE.
CREATE TEMP TABLE findings AS
WITH exempt AS (
    SELECT person,
           bool_or(status IN ('retired', 'early_retired')) AS retired, bool_or(status = 'bought_out') AS bought_out
    FROM status WHERE since IS NULL OR since < getvariable('after') GROUP BY person
), decided AS (
    SELECT f.person, f.rule,
           CASE WHEN (left(f.rule, 3) = 'SI_' OR left(f.rule, 5) = 'FUND_') AND e.retired THEN 'RETIRED'
                WHEN f.rule = 'SI_NONE' AND e.bought_out THEN 'SI_BOUGHT_OUT'
                ELSE f.auto END AS exemption
    FROM findings_found f LEFT JOIN exempt e USING (person)
)
SELECT p.id_number AS person, d.rule, CASE WHEN d.exemption IS NULL THEN 'open' ELSE 'exempted' END AS status, d.exemption
FROM decided d JOIN person p USING (person);
"""
