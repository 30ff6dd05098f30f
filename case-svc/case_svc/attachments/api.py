"""Attachment routes: upload (multipart: kind, file, note), list, download with the content's hash in a header.

The upload's body is read here, not by the framework, so that one larger than `ATTACHMENT_MAX_BYTES` is
refused (413) as soon as it says or shows so, before it is parsed or spooled to disk."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from case_svc import examples
from case_svc.attachments import service as attachment_service
from case_svc.attachments.schemas import Attachment, AttachmentKind
from case_svc.deps import CaseId, CurrentCase, OfficerDep, PersonalDataDep, RuntimeDep, get_case, lock_case
from case_svc.downloads import content_disposition, uploaded_name
from kernel.deps import DbConnection, DbTransaction, RegionScopeDep
from kernel.errors import DomainError, Forbidden, Invalid
from kernel.paging import Cursor, Limit, Page

router = APIRouter(prefix="/api/v1/cases", tags=["attachments"])

KINDS: tuple[str, ...] = get_args(AttachmentKind)
# Room for the multipart framing and the other fields around the file.
FORM_OVERHEAD = 64 * 1024
NOTE_MAX = 2000


class TooLarge(DomainError):
    status_code = 413
    error_type = "too_large"


def _refuse_personal(personal: bool) -> None:
    if not personal:
        raise Forbidden("attachments are personal data: the caller sees none", loc=["header", "authorization"])


async def _body(request: Request, limit: int) -> None:
    """Reads the request body into the request (where its form parser finds it), refusing one over `limit`."""
    declared = request.headers.get("content-length")
    too_large = TooLarge(f"an attachment is at most {limit} bytes (ATTACHMENT_MAX_BYTES)", loc=["body", "file"])
    if declared and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit + FORM_OVERHEAD:
            raise too_large
        chunks.append(chunk)
    request._body = b"".join(chunks)


UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["kind", "file"],
                    "properties": {
                        "kind": {"type": "string", "enum": list(KINDS), "description": "what the evidence is"},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "PDF, JPEG, PNG, .docx, .xlsx or plain text (read from the content), "
                            "at most ATTACHMENT_MAX_BYTES",
                        },
                        "note": {"type": "string", "maxLength": NOTE_MAX},
                    },
                },
                "example": examples.ATTACHMENT_UPLOAD,
            }
        },
    }
}


@router.post(
    "/{case_id}/attachments",
    response_model=Attachment,
    status_code=201,
    summary="Attach evidence (核查记录, 约谈笔录, 照片, 情况说明, 其他) to the case: kept with its SHA-256, never altered",
    openapi_extra=UPLOAD_BODY,
)
async def upload(
    request: Request,
    case_id: CaseId,
    pg: DbTransaction,
    scope: RegionScopeDep,
    runtime: RuntimeDep,
    actor: OfficerDep,
) -> Attachment:
    limit = runtime.settings.attachment_max_bytes
    await get_case(case_id, pg, scope)  # 404 before the upload is read, for a case the caller cannot see
    await _body(request, limit)
    current = await lock_case(case_id, pg, scope)  # locked only once the file is in
    async with request.form(max_files=1, max_fields=5) as form:
        kind, note, file = form.get("kind"), form.get("note"), form.get("file")
        if not isinstance(kind, str) or kind not in KINDS:
            raise Invalid(f"kind is one of {', '.join(KINDS)}", loc=["body", "kind"])
        if note is not None and (not isinstance(note, str) or len(note) > NOTE_MAX):
            raise Invalid(f"note is text of at most {NOTE_MAX} characters", loc=["body", "note"])
        if not isinstance(file, UploadFile):
            raise Invalid("file is the uploaded file (multipart/form-data)", loc=["body", "file"])
        content = await file.read()
        if len(content) > limit:
            raise TooLarge(f"an attachment is at most {limit} bytes (ATTACHMENT_MAX_BYTES)", loc=["body", "file"])
        return await attachment_service.attach(
            pg,
            current,
            kind=kind,
            note=note or None,
            filename=uploaded_name(file.filename),
            content=content,
            actor=actor,
            settings=runtime.settings,
        )


@router.get("/{case_id}/attachments", response_model=Page[Attachment], summary="The case's attachments, in order")
async def attachments(
    current: CurrentCase, pg: DbConnection, personal: PersonalDataDep, cursor: Cursor = None, limit: Limit = 100
) -> Page[Attachment]:
    _refuse_personal(personal)
    return await attachment_service.list_attachments(pg, current, cursor=cursor, limit=limit)


@router.get(
    "/{case_id}/attachments/{number}",
    response_class=Response,
    summary="Download an attachment as uploaded; its SHA-256 in `Repr-Digest` and `X-Content-SHA256`",
    responses={
        200: {
            "description": "the file as uploaded, with its sniffed content type",
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "(the file's bytes)",
                }
            },
        }
    },
)
async def download(
    current: CurrentCase,
    pg: DbConnection,
    personal: PersonalDataDep,
    number: Annotated[int, Path(ge=1, description="the attachment's number within the case")],
) -> Response:
    _refuse_personal(personal)
    attachment, content = await attachment_service.content_of(pg, current, number)
    digest = base64.b64encode(binascii.unhexlify(attachment.sha256)).decode()
    return Response(
        content,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": content_disposition(attachment.filename, fallback=f"attachment-{number}"),
            "Repr-Digest": f"sha-256=:{digest}:",
            "X-Content-SHA256": attachment.sha256,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, no-store",
            # Whose data this is (the pseudonym), for the gateway's access log.
            "X-Person-Ref": current.person_ref,
        },
    )
