"""Document routes: the case's printable documents as PDF (核查通知, 告知书, 处理决定书, 送达回证), each numbered the
first time it is generated, and the numbers issued so far."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from case_svc.deps import CurrentCase, LockedCase, OfficerDep, PersonalDataDep, RuntimeDep
from case_svc.documents import service as document_service
from case_svc.documents.schemas import DocumentNumber
from case_svc.documents.stages import TITLES, Kind
from case_svc.downloads import content_disposition
from kernel.deps import DbConnection, DbTransaction
from kernel.errors import Forbidden
from kernel.paging import Page

router = APIRouter(prefix="/api/v1/cases", tags=["documents"])


def _refuse_masked(personal: bool) -> None:
    if not personal:
        raise Forbidden(
            "a case's documents name the person: the caller sees no personal data", loc=["header", "authorization"]
        )


@router.get(
    "/{case_id}/documents",
    response_model=Page[DocumentNumber],
    summary="The document numbers (文号) issued for the case",
)
async def documents(current: CurrentCase, pg: DbConnection) -> Page[DocumentNumber]:
    return await document_service.numbers(pg, current)


@dataclass
class _Asked:
    """A request for one of the case's documents: the case (locked), who asks, which document."""

    current: LockedCase
    pg: DbTransaction
    runtime: RuntimeDep
    personal: PersonalDataDep
    actor: OfficerDep
    kind: Annotated[
        Kind,
        Path(
            description="notice (核查通知), intended-decision (告知书), decision (处理决定书), proof-of-service (送达回证)"
        ),
    ]
    of: Annotated[
        Kind | None,
        Query(
            description="proof-of-service: the document served; the latest issued of decision, intended-decision, notice when absent"
        ),
    ] = None

    async def pdf(self, *, reprint: bool) -> Response:
        _refuse_masked(self.personal)
        number, content = await document_service.generate(
            self.pg, self.current, self.kind, self.of, self.actor, self.runtime.settings, reprint=reprint
        )
        filename = f"{TITLES[self.kind]}-{self.current.case_ref}.pdf"
        return Response(
            content,
            media_type="application/pdf",
            headers={
                "Content-Disposition": content_disposition(filename, inline=True, fallback=self.kind.value),
                "X-Document-Number": quote(number.number),
                "Cache-Control": "private, no-store",
                # Whose data this is (the pseudonym), for the gateway's access log.
                "X-Person-Ref": self.current.person_ref,
            },
        )


_PDF: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the PDF; its number (文号) percent-encoded in `X-Document-Number`",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}, "example": "(a PDF)"}},
    }
}


@router.post(
    "/{case_id}/documents/{kind}",
    response_class=Response,
    summary="Issue a printable document of the case: its number (文号) the first time, the PDF; 409 at a stage it does not belong to",
    responses=_PDF,
)
async def issue_document(asked: Annotated[_Asked, Depends()]) -> Response:
    return await asked.pdf(reprint=False)


@router.get(
    "/{case_id}/documents/{kind}",
    response_class=Response,
    summary="An issued document of the case again as PDF, with its number; 409 while it has none (issue it: POST)",
    responses=_PDF,
)
async def document(asked: Annotated[_Asked, Depends()]) -> Response:
    return await asked.pdf(reprint=True)
