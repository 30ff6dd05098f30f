"""公示: the public disclosure of confirmed cases the campaigns require (不良行为记录, and the units that used the
hung certificates). The province drafts a list for a period from its confirmed cases decided in it — the
decisions that waived publication left out — with only what may be published: the person's name and masked
ID, the certificates, the registered unit and its USCC, the record and its sanctions, the decision's number
(issued now if the decision had none) and date. Another officer of the province approves it (four eyes);
only an approved list is exported. A list's rows are fixed when it is drafted."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from case_svc.actors import Actor
from case_svc.audit import service as audit_service
from case_svc.cases.record import COLUMNS, Case
from case_svc.cases.workflow import LEVEL_ROLES, Level
from case_svc.db import from_jsonb, to_jsonb
from case_svc.documents import content
from case_svc.documents import service as document_service
from case_svc.publications.schemas import Publication, PublicationIn, PublishedRow
from kernel.errors import Conflict, Forbidden, NotFound
from kernel.paging import Page, decode_cursor, encode_cursor
from kernel.regions import region_full_name, region_prefix
from kernel.scope import RegionScope

_FIELDS = (
    "publication_id, region_code, period_from, period_to, title, status, rows, created_by, created_at, approved_by, "
    "approved_at"
)
_PUBLICATION = f"SELECT {_FIELDS} FROM publications "
COLUMNS_OUT: list[tuple[str, str]] = [
    ("case_ref", "案件编号"),
    ("name", "姓名"),
    ("masked_id", "身份证号码"),
    ("categories", "注册类别及证书编号"),
    ("unit_name", "注册单位"),
    ("unit_uscc", "统一社会信用代码"),
    ("record", "不良行为记录"),
    ("decision_number", "处理决定书文号"),
    ("decided_on", "决定日期"),
    ("authority", "处理机关"),
]


def require_province_officer(actor: Actor) -> None:
    if actor.role != LEVEL_ROLES[Level.province]:
        raise Forbidden(
            f"publication (公示) is the province's (省级): only a {LEVEL_ROLES[Level.province]} drafts and approves it",
            loc=["header", "authorization"],
        )


def _publication(row: Any) -> Publication:
    return Publication.model_validate(dict(row) | {"rows": from_jsonb(row["rows"])})


def _record(case: Case) -> str:
    plan = case.sanctions or {}
    parts = ["注册执业人员“挂证”违法违规行为"]
    parts += [
        f"撤销{content.category_label(r['category'])}注册，{r['barred_until']}前不得再次申请注册"
        for r in plan.get("revocations", [])
    ]
    parts += [
        f"{content.category_label(r['category'])}上报住房和城乡建设部处理" for r in plan.get("ministry_reports", [])
    ]
    person = plan.get("person") or {}
    if person.get("blacklist"):
        parts.append("列入建筑市场主体“黑名单”")
    if person.get("fine"):
        parts.append(f"罚款{person['fine']['amount']}元")
    return "；".join(parts)


async def draft(pg: asyncpg.Connection, scope: RegionScope, body: PublicationIn, actor: Actor) -> Publication:
    require_province_officer(actor)
    scope.require_region(body.region_code, ["body", "region_code"])
    rows = await pg.fetch(
        f"SELECT {COLUMNS} FROM cases WHERE region_code LIKE $1 AND outcome = 'confirmed' "
        "AND decided_on BETWEEN $2 AND $3 AND coalesce((sanctions->'person'->>'public_notice')::boolean, true) "
        "ORDER BY decided_on, case_ref FOR UPDATE",
        region_prefix(body.region_code) + "%",
        body.starts_on,
        body.ends_on,
    )
    published = []
    for case in map(Case.from_row, rows):
        number = await document_service.decision_number(pg, case, actor)
        units = (case.sanctions or {}).get("units") or [{"unit_name": "", "unit_uscc": None}]
        certificates = [
            *(case.sanctions or {}).get("revocations", []),
            *(case.sanctions or {}).get("ministry_reports", []),
        ]
        assert case.decided_on is not None  # confirmed
        published.append(
            PublishedRow(
                case_ref=case.case_ref,
                person_ref=case.person_ref,
                name=case.name,
                masked_id=case.masked_id,
                categories="、".join(
                    f"{content.category_label(c['category'])}（{c['certificate_no']}）" for c in certificates
                ),
                unit_name="、".join(u["unit_name"] for u in units),
                unit_uscc="、".join(u["unit_uscc"] for u in units if u.get("unit_uscc")) or None,
                record=_record(case),
                decision_number=number.number,
                decided_on=case.decided_on,
                authority=next((r["authority"] for r in (case.sanctions or {}).get("revocations", [])), None)
                or document_service.deciding_authority(case, None)[1],
            )
        )
    title = (
        f"{region_full_name(body.region_code, body.ends_on.year)}工程建设领域专业技术人员“挂证”违法违规行为处理结果公示"
        f"（{body.starts_on} 至 {body.ends_on}）"
    )
    publication_id = uuid.uuid4()
    row = await pg.fetchrow(
        "INSERT INTO publications (publication_id, region_code, period_from, period_to, title, status, rows, created_by) "
        f"VALUES ($1, $2, $3, $4, $5, 'draft', $6::jsonb, $7) RETURNING {_FIELDS}",
        publication_id,
        body.region_code,
        body.starts_on,
        body.ends_on,
        title,
        to_jsonb([r.model_dump(mode="json") for r in published]),
        actor.id,
    )
    await audit_service.record(
        pg,
        entity="publication",
        entity_id=publication_id,
        action="draft",
        actor=actor,
        after={
            "region_code": body.region_code,
            "from": str(body.starts_on),
            "to": str(body.ends_on),
            "rows": len(published),
        },
    )
    return _publication(row)


async def visible(
    pg: asyncpg.Connection, publication_id: uuid.UUID, scope: RegionScope, *, lock: bool = False
) -> Publication:
    row = await pg.fetchrow(
        _PUBLICATION + "WHERE publication_id = $1" + (" FOR UPDATE" if lock else ""), publication_id
    )
    if row is None or not scope.allows(row["region_code"]):
        raise NotFound("no publication with this reference", loc=["path", "publication_id"])
    return _publication(row)


async def approve(pg: asyncpg.Connection, publication: Publication, actor: Actor) -> Publication:
    require_province_officer(actor)
    if publication.status == "approved":
        raise Conflict(f"the publication was approved by {publication.approved_by}", error_type="already_approved")
    if publication.created_by == actor.id:
        raise Forbidden(
            "a publication list is approved by another officer than the one who drafted it (four eyes)",
            loc=["header", "authorization"],
        )
    row = await pg.fetchrow(
        "UPDATE publications SET status = 'approved', approved_by = $2, approved_at = now() WHERE publication_id = $1 "
        f"RETURNING {_FIELDS}",
        publication.publication_id,
        actor.id,
    )
    await audit_service.record(
        pg,
        entity="publication",
        entity_id=publication.publication_id,
        action="approve",
        actor=actor,
        before={"status": "draft"},
        after={"status": "approved"},
    )
    return _publication(row)


async def list_publications(
    pg: asyncpg.Connection, scope: RegionScope, *, cursor: str | None, limit: int
) -> Page[Publication]:
    after = decode_cursor(cursor, ["", uuid.UUID(int=0)])
    rows = await pg.fetch(
        _PUBLICATION + "WHERE region_code LIKE ANY($1) AND (region_code, publication_id) > ($2, $3::uuid) "
        "ORDER BY region_code, publication_id LIMIT $4",
        [p for p in scope.patterns() if len(p.rstrip("%")) <= 2] or ["-"],
        after[0],
        after[1],
        limit + 1,
    )
    items = [_publication(row) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].region_code, str(items[-1].publication_id)]) if len(rows) > limit else None
    return Page[Publication](items=items, next_cursor=next_cursor)
