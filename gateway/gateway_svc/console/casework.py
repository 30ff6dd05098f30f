"""The console's case pages — 案件 (the queues per level and 我的待办, a case with its timeline, attachments,
workflow actions, working lock, assignment and documents), 通知, 督办, 公示, 投诉举报 — each reading and
writing case-svc's API through the gateway as the signed-in person (console.client), so every rule (who
takes which step, the lock, the region scope, the four eyes) is the API's and a refusal is shown in Chinese.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from domain import cases as case_words
from domain import findings as finding_words
from gateway_svc import accounts, sessions
from gateway_svc.console.client import Answer
from gateway_svc.console.pages import templates
from gateway_svc.console.views import API, Person, _all, _forged, _sub_regions, posted, signed_in, views_of
from gateway_svc.deps import RuntimeDep
from gateway_svc.roles import Role, Scope
from kernel.values import CHINA, china_today

# Included into the console's router (views.router, prefix /console) at the end of views.py.
router: APIRouter = APIRouter(include_in_schema=False)

CaseRef = Annotated[str, Query(max_length=64)]
Text = Annotated[str | None, Query(max_length=100)]
ATTACHMENT_LIMIT = 20 * 1024 * 1024  # the API's ATTACHMENT_MAX_BYTES: larger ones are refused before sending

# The level whose steps a case in each state waits for (the queues): case-svc's OWNERS, read as levels.
LEVEL_STATES = {
    "county": ("open", "awaiting_reply", "awaiting_county_review", "sent_back"),
    "city": ("awaiting_city_review",),
    "province": ("awaiting_decision",),
}
LEVELS_OF_ROLE = {
    Role.county_officer: ("county",),
    Role.city_officer: ("county", "city"),
    Role.province_admin: ("county", "city", "province"),
}
ATTACHMENT_KINDS = ("核查记录", "约谈笔录", "照片", "情况说明", "其他")
ANSWER_KINDS = {
    "cancelled_registration": "已整改、证书已注销",
    "insurance_now_matches": "已整改、社保与注册单位一致",
    "exemption_claimed": "属于不认定为挂证的情形",
}
DOCUMENT_KIND = re.compile(
    r"[a-z]{1,20}(-[a-z]{1,20}){0,3}"
)  # a document's kind as a path segment; case-svc knows which exist
NOT_GUAZHENG_REASONS = {"exemption": "符合豁免情形", "data_error": "数据错误", "already_consistent": "已一致"}
CHANNELS = {"phone": "电话", "letter": "信件", "email": "电子邮箱", "website": "门户网站", "visit": "来访",
            "referral": "上级转办", "other": "其他"}  # fmt: skip
COMPLAINT_STATUSES = {"registered": "已登记", "assigned": "已分派", "answered": "已答复"}
NOTICE_KINDS = {"due_soon": "即将到期", "overdue": "已逾期", "supervised": "督办", "reminded": "催办"}
BULK_ACTIONS = {"assign": "分派", "remind": "催办", "notice": "发出通知"}
FIELD_WORDS = {"status": "阶段", "assignee": "承办人", "notice_date": "通知日期", "reply_due": "反馈期限",
               "review_due": "审查期限", "outcome": "结果", "lock": "办理锁", "supervision": "督办",
               "decided_on": "决定日期", "answer": "反馈", "holder": "办理人", "kind": "类型", "reason": "理由",
               "opinion": "意见", "deadline": "期限", "note": "说明", "by": "办理人", "at": "时间", "level": "层级",
               "result": "结果", "sha256": "SHA-256", "filename": "文件名", "number": "编号", "document": "文书",
               "lock_holder": "办理人", "lock_expires_at": "办理锁到期", "reviews": "审查", "sanctions": "处理措施",
               "case_ref": "案件编号", "opened_by": "立案人", "campaign_id": "专项行动", "region_code": "地区代码",
               "due_basis": "期限依据", "content_type": "文件类型", "size": "大小（字节）"}  # fmt: skip
# The timeline's entries besides the workflow's steps (case-svc's audit actions).
TIMELINE_WORDS = {"open": "立案", "take": "开始办理", "release": "释放办理", "attach": "上传材料", "assign": "分派",
                  "remind": "催办", "supervise": "挂牌督办", "lift-supervision": "解除督办", "issue-document": "出具文书",
                  "refused": "拒绝办理", "join": "并入线索", "finding": "线索变化", "link-complaint": "关联投诉举报",
                  "all_findings_resolved": "线索均已消除"}  # fmt: skip
NOT_YOURS = "该案件不在您的辖区内，或没有该案件：无权查看。"


def _words(table: dict[Any, str], code: str | None) -> str:
    return table.get(code or "", code or "")


templates.filters.update({
    "case_action": lambda c: _words(case_words.ACTION_LABELS, c) if c in case_words.ACTION_LABELS
    else TIMELINE_WORDS.get(c, c),
    "outcome": lambda c: _words(case_words.OUTCOME_LABELS, c),
    "channel": lambda c: CHANNELS.get(c, c),
    "complaint_status": lambda c: COMPLAINT_STATUSES.get(c, c),
    "notice_kind": lambda c: NOTICE_KINDS.get(c, c),
    "field": lambda c: FIELD_WORDS.get(c, c),
    "level": lambda c: _words(case_words.LEVEL_LABELS, c),
    "beijing": lambda t: datetime.fromisoformat(t).astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if t else "",
})  # fmt: skip


def _levels(person: Person) -> tuple[str, ...]:
    return LEVELS_OF_ROLE.get(person.account.role, ())


def _problem(answer: Answer) -> str:
    """The page's words for a refused case action: the lock's holder, the owning level, the field at fault."""
    body = answer.body if isinstance(answer.body, dict) else {}
    detail = body.get("detail") if isinstance(body.get("detail"), list) else []
    first = detail[0] if detail and isinstance(detail[0], dict) else {}
    kind = first.get("type", "")
    if kind == "case_locked":
        lock = first.get("lock")  # case-svc names the holder there (and in words we do not parse)
        holder = lock.get("holder") if isinstance(lock, dict) and isinstance(lock.get("holder"), str) else None
        return (
            f"该案件正由 {holder} 办理，二人不能同时办理一案。"
            if holder
            else "该案件正由其他人员办理，二人不能同时办理一案。"
        )
    if kind == "invalid_transition":
        return "该案件当前阶段不允许此操作，请刷新后重试。"
    if answer.status == 403:
        return "该步骤不由您所在的层级办理（县级：通知、反馈、审查；市级：复审；省级：决定、结案），或违反“四眼”原则。"
    if answer.status == 422:
        field = "、".join(str(p) for p in first.get("loc", [])[1:]) if first else ""
        return f"填写有误{('：' + field) if field else ''}，请检查后重试。"
    return answer.refusal(s404=NOT_YOURS)


def _one(fields: dict[str, list[str]], key: str) -> str:
    return (fields.get(key) or [""])[-1].strip()


async def _display_names(runtime: RuntimeDep, usernames: set[str]) -> dict[str, str]:
    """Officers' names as people know them (王建军), for the usernames a page shows (a lock's holder)."""
    names: dict[str, str] = {}
    async with accounts.own_transaction(runtime.db) as pg:
        for username in usernames:
            account = await accounts.get(pg, username)
            if account is not None:
                names[username] = account.display_name
    return names


# --- 案件: the queues -------------------------------------------------------------------------------


def _queue_order(item: dict[str, Any]) -> tuple[Any, ...]:
    """Supervised undecided cases first (nearest supervision deadline first), as the API orders them."""
    supervision = item.get("supervision")
    return (supervision is None, (supervision or {}).get("deadline", ""), item["region_code"], item["case_ref"])


@router.get("/cases")
async def case_queue(
    request: Request,
    runtime: RuntimeDep,
    level: Annotated[str | None, Query(pattern="^(county|city|province|mine|all)?$")] = None,
    region_code: Annotated[str | None, Query(pattern=r"^(\d{6})?$")] = None,
    status: Text = None,
    assignee: Text = None,
    overdue: Annotated[str | None, Query(pattern="^(true)?$")] = None,
    case_ref: Text = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    return await _render_queue(person, runtime, level, region_code, status, assignee, overdue, case_ref, cursor)


async def _render_queue(
    person: Person,
    runtime: RuntimeDep,
    level: str | None,
    region_code: str | None,
    status: str | None,
    assignee: str | None,
    overdue: str | None,
    case_ref: str | None,
    cursor: str | None,
    **extra: Any,
) -> Response:
    levels = _levels(person)
    level = level or ("mine" if levels else "all")
    chosen = {k: v for k, v in {"region_code": region_code, "status": status, "assignee": assignee,
                                "overdue": overdue, "case_ref": case_ref}.items() if v}  # fmt: skip
    context: dict[str, Any] = {
        "level": level,
        "levels": [(lv, _words(case_words.LEVEL_LABELS, lv)) for lv in levels],
        "chosen": chosen,
        "regions": _sub_regions(person.account.regions),
        "statuses": case_words.STATUS_LABELS,
        "query": urlencode({"level": level, **chosen}),
        "bulk_actions": BULK_ACTIONS,
        "can_write": person.holds(Scope.cases_write),
        **await views_of(runtime, person, "cases", urlencode({"level": level, **chosen})),
        **extra,
    }
    async with person.api() as api:
        if level in LEVEL_STATES:
            items: list[dict[str, Any]] = []
            for state in LEVEL_STATES[level]:
                if status and status != state:
                    continue
                found, refusal = await _all(api, f"{API}/cases", {**chosen, "status": state}, cap=500)
                if refusal:
                    context["refusal"] = refusal
                    break
                items += found
            items.sort(key=_queue_order)
        else:
            params = {**chosen, "assignee": "me"} if level == "mine" else chosen
            answer = await api.get(f"{API}/cases", {**params, "cursor": cursor, "limit": 100})
            items = answer.body["items"] if answer.ok else []
            if not answer.ok:
                context["refusal"] = answer.refusal(s403="无权查看：所选地区不在您的辖区内。",
                                                    s422="筛选条件有误，请检查后重试。")  # fmt: skip
            elif answer.body.get("next_cursor"):
                context["next"] = urlencode({"level": level, **chosen, "cursor": answer.body["next_cursor"]})
    context["items"] = items
    return person.page("cases.html", "cases", **context)


@router.post("/cases/bulk")
async def case_bulk(request: Request, runtime: RuntimeDep) -> Response:
    """Assign, remind (催办) or issue notices for the cases ticked on the queue: the API applies the action to
    each on its own and answers one outcome per case, which the queue page shows."""
    form = await posted(request, runtime, dict)
    if isinstance(form, Response):
        return form
    person, fields = form
    action = _one(fields, "action")
    chosen = [c for c in fields.get("case_ids", []) if c][:500]
    back = {k: _one(fields, k) or None for k in ("level", "region_code", "status", "assignee", "overdue")}
    if action not in BULK_ACTIONS or not chosen:
        return await _render_queue(person, runtime, **back, case_ref=None, cursor=None,
                                   problem="请勾选案件并选择批量操作。")  # fmt: skip
    body: dict[str, Any] = {"action": action, "case_ids": chosen}
    for key in ("notice_date", "notice_ref", "message", "reason") + (("assignee",) if action == "assign" else ()):
        if _one(fields, f"bulk_{key}"):
            body[key] = _one(fields, f"bulk_{key}")
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/cases/bulk", json=body)
    if not answer.ok:
        return await _render_queue(person, runtime, **back, case_ref=None, cursor=None, problem=_problem(answer))
    return await _render_queue(person, runtime, **back, case_ref=None, cursor=None, bulk=answer.body)


@router.post("/cases/round-robin")
async def case_round_robin(request: Request, runtime: RuntimeDep) -> Response:
    """轮流分配: the region's unassigned, undecided cases spread over the officers named."""
    form = await posted(request, runtime, dict)
    if isinstance(form, Response):
        return form
    person, fields = form
    officers = [n.strip() for n in _one(fields, "assignees").replace("，", ",").split(",") if n.strip()]
    region = _one(fields, "rr_region")
    back = {k: _one(fields, k) or None for k in ("level", "region_code", "status", "assignee", "overdue")}
    if not officers or not region:
        return await _render_queue(person, runtime, **back, case_ref=None, cursor=None,
                                   problem="轮流分配：请选择地区并填写承办人用户名。")  # fmt: skip
    body: dict[str, Any] = {"region_code": region, "assignees": officers}
    if _one(fields, "rr_status"):
        body["filter"] = {"status": _one(fields, "rr_status")}
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/cases/assign-round-robin", json=body)
    if not answer.ok:
        return await _render_queue(person, runtime, **back, case_ref=None, cursor=None, problem=_problem(answer))
    return await _render_queue(person, runtime, **back, case_ref=None, cursor=None, round_robin=answer.body)


# --- 案件: one case ----------------------------------------------------------------------------------


def _changes(entry: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """A timeline entry's changed fields, old → new, in words an officer reads (a stage by its label, a
    deadline's basis by its text, a long record cut short)."""
    before, after = entry.get("before") or {}, entry.get("after") or {}
    return [(key, _shown(key, before.get(key)), _shown(key, after.get(key)))
            for key in dict.fromkeys([*before, *after]) if before.get(key) != after.get(key)]  # fmt: skip


def _shown(key: str, value: Any) -> str | None:
    if value is None or value in ([], {}):
        return None
    if key == "status":
        return _words(case_words.STATUS_LABELS, str(value))
    if key == "outcome":
        return _words(case_words.OUTCOME_LABELS, str(value))
    if key == "due_basis" and isinstance(value, dict):
        return str(value.get("text") or value.get("due"))
    if isinstance(value, dict):
        text = "，".join(
            f"{FIELD_WORDS.get(k, k)}：{_shown(k, v) or '—'}" for k, v in value.items() if v not in (None, [], {})
        )
    elif isinstance(value, list):
        text = "；".join(_shown(key, v) or "—" for v in value)
    else:
        text = str(value)
    return text if len(text) <= 160 else text[:160] + "…"


@router.get("/cases/{case_ref}")
async def case_page(request: Request, runtime: RuntimeDep, case_ref: str) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    return await _render_case(person, runtime, case_ref)


async def _render_case(person: Person, runtime: RuntimeDep, case_ref: str, **extra: Any) -> Response:
    if not (4 <= len(case_ref) <= 64 and all(c.isalnum() or c == "-" for c in case_ref)):
        return person.page("case.html", "cases", refusal=NOT_YOURS, problem=extra.get("problem"))
    async with person.api() as api:
        answer = await api.get(f"{API}/cases/{case_ref}")
        if not answer.ok:
            return person.page("case.html", "cases", refusal=answer.refusal(s404=NOT_YOURS, s422=NOT_YOURS),
                               problem=extra.get("problem"))  # fmt: skip
        case = answer.body
        timeline, _ = await _all(api, f"{API}/cases/{case_ref}/timeline", {}, cap=1000)
        attachments = await api.get(f"{API}/cases/{case_ref}/attachments", {"limit": 1000})
        numbers = await api.get(f"{API}/cases/{case_ref}/documents")
    lock = case.get("lock")
    me = person.account.username
    held_by_other = bool(
        lock and lock["holder"] != me and datetime.fromisoformat(lock["expires_at"]) > datetime.now(CHINA)
    )
    names = await _display_names(runtime, {lock["holder"]} if lock else set())
    issued = numbers.body["items"] if numbers.ok else []
    status = case["status"]
    # The printable documents as case-svc states them (its one rule): each kind, whether it can be printed now.
    documents = [
        {**d, "number": next((n["number"] for n in issued if n["document"] == d["kind"]), None)}
        for d in case.get("documents") or []
    ]
    return person.page(
        "case.html",
        "cases",
        case=case,
        timeline=[{**e, "changes": _changes(e)} for e in timeline],
        attachments=attachments.body["items"] if attachments.ok else [],
        issued=issued,
        documents=documents,
        lock=lock,
        holder_name=names.get(lock["holder"], lock["holder"]) if lock else None,
        mine=bool(lock and lock["holder"] == me),
        held_by_other=held_by_other,
        can_write=person.holds(Scope.cases_write) and status != "closed",
        is_province=person.account.role is Role.province_admin,
        kinds=ATTACHMENT_KINDS,
        answer_kinds=ANSWER_KINDS,
        exemptions=finding_words.EXEMPTION_LABELS,
        outcomes=case_words.OUTCOME_LABELS,
        not_guazheng_reasons=NOT_GUAZHENG_REASONS,
        today=china_today().isoformat(),
        **extra,
    )


@router.post("/cases/{case_ref}/take")
async def case_take(request: Request, runtime: RuntimeDep, case_ref: str) -> Response:
    """Take the working lock (办理锁), or with `release` give it back."""
    form = await posted(request, runtime, dict)
    if isinstance(form, Response):
        return form
    person, fields = form
    method = "DELETE" if _one(fields, "release") else "POST"
    async with person.api() as api:
        answer = await api.send(method, f"{API}/cases/{case_ref}/take")
    if not answer.ok:
        return await _render_case(person, runtime, case_ref, problem=_problem(answer))
    return RedirectResponse(f"/console/cases/{quote(case_ref)}", status_code=303)


def _action_body(action: str, fields: dict[str, list[str]]) -> dict[str, Any]:
    """A workflow action's request body from its form (empty fields left out: the API's defaults apply)."""
    keys = {
        "notice": ("notice_date", "notice_ref", "reason"),
        "answer": ("kind", "answered_on", "cancelled_on", "exemption", "reason"),
        "no-reply": ("reason",),
        "county-review": ("opinion", "proposed_outcome", "reason"),
        "city-review": ("opinion", "proposed_outcome", "reason"),
        "send-back": ("reason",),
        "resume": ("reason",),
        "decision": ("outcome", "reason", "not_guazheng_reason", "exemption", "decided_on", "fine", "illegal_gains"),
        "close": ("reason", "outcome", "not_guazheng_reason"),
    }[action]
    body: dict[str, Any] = {key: _one(fields, key) for key in keys if _one(fields, key)}
    if action == "answer":
        refs = _one(fields, "evidence_refs").replace("，", ",")
        body["evidence_refs"] = [r.strip() for r in refs.split(",") if r.strip()]
        body["evidence_attachments"] = [int(n) for n in fields.get("evidence_attachments", []) if n.isdigit()]
    if action == "decision":
        body["blacklist"] = _one(fields, "blacklist") == "on"
        body["public_notice"] = _one(fields, "public_notice") == "on"
    return body


@router.post("/cases/{case_ref}/act/{action}")
async def case_act(request: Request, runtime: RuntimeDep, case_ref: str, action: str) -> Response:
    """One workflow action, as the case's `allowed_actions` offers it; the API decides whether this person's
    level takes it. A send-back or a close without a reason is refused here already (and by the API)."""
    form = await posted(request, runtime, dict)
    if isinstance(form, Response):
        return form
    person, fields = form
    if action not in case_words.ACTION_LABELS:
        return await _render_case(person, runtime, case_ref, problem="未知的操作。")
    if action in ("send-back", "close") and not _one(fields, "reason"):
        words = "退回" if action == "send-back" else "结案"
        return await _render_case(person, runtime, case_ref, problem=f"{words}必须填写理由。", failed=action)
    if action in ("county-review", "city-review") and not _one(fields, "opinion"):
        return await _render_case(person, runtime, case_ref, problem="请填写审查意见。", failed=action)
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/cases/{case_ref}/{action}", json=_action_body(action, fields))
    if not answer.ok:
        return await _render_case(person, runtime, case_ref, problem=_problem(answer), failed=action)
    return RedirectResponse(f"/console/cases/{quote(case_ref)}", status_code=303)


@router.post("/cases/{case_ref}/assign")
async def case_assign(request: Request, runtime: RuntimeDep, case_ref: str) -> Response:
    form = await posted(request, runtime, dict)
    if isinstance(form, Response):
        return form
    person, fields = form
    body = {"assignee": _one(fields, "assignee")}
    if _one(fields, "reason"):
        body["reason"] = _one(fields, "reason")
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/cases/{case_ref}/assign", json=body)
    if not answer.ok:
        return await _render_case(person, runtime, case_ref, problem=_problem(answer))
    return RedirectResponse(f"/console/cases/{quote(case_ref)}", status_code=303)


@router.post("/cases/{case_ref}/supervision")
async def case_supervise(request: Request, runtime: RuntimeDep, case_ref: str) -> Response:
    """挂牌督办 (deadline, note) or, with `lift`, its end: the province's."""
    form = await posted(request, runtime, dict)
    if isinstance(form, Response):
        return form
    person, fields = form
    async with person.api() as api:
        if _one(fields, "lift"):
            answer = await api.send("DELETE", f"{API}/cases/{case_ref}/supervision")
        else:
            body = {"deadline": _one(fields, "deadline")} | (
                {"note": _one(fields, "note")} if _one(fields, "note") else {}
            )
            answer = await api.send("POST", f"{API}/cases/{case_ref}/supervision", json=body)
    if not answer.ok:
        return await _render_case(person, runtime, case_ref, problem=_problem(answer))
    return RedirectResponse(f"/console/cases/{quote(case_ref)}", status_code=303)


@router.post("/cases/{case_ref}/attachments")
async def case_attach(request: Request, runtime: RuntimeDep, case_ref: str) -> Response:
    """Evidence uploaded through the page (kind, file, note): sent on to the API, which keeps it with its hash."""
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    form = await request.form(max_files=1, max_fields=10)
    sent = form.get(sessions.CSRF_FIELD)
    if not sessions.origin_allowed(request, runtime.settings) or not sessions.token_matches(
        person.session.csrf_token, sent if isinstance(sent, str) else None
    ):
        return _forged(person)
    upload, kind, note = form.get("file"), form.get("kind"), form.get("note")
    if not isinstance(upload, UploadFile) or not upload.filename or kind not in ATTACHMENT_KINDS:
        return await _render_case(person, runtime, case_ref, problem="请选择材料类型和文件。")
    content = await upload.read(ATTACHMENT_LIMIT + 1)
    if len(content) > ATTACHMENT_LIMIT:
        return await _render_case(person, runtime, case_ref, problem="文件超过 20 MB。")
    data = {"kind": kind} | ({"note": note} if isinstance(note, str) and note.strip() else {})
    async with person.api() as api:
        answer = await api.send(
            "POST",
            f"{API}/cases/{case_ref}/attachments",
            data=data,
            files={"file": (upload.filename, content, upload.content_type or "application/octet-stream")},
        )
    if not answer.ok:
        words = (
            "文件类型不支持：只接受 PDF、JPEG、PNG、Word、Excel 或文本文件。"
            if answer.status == 415
            else _problem(answer)
        )
        return await _render_case(person, runtime, case_ref, problem=words)
    return RedirectResponse(f"/console/cases/{quote(case_ref)}", status_code=303)


PASSED_HEADERS = ("content-disposition", "x-document-number", "x-content-sha256", "repr-digest")


def _file(answer: Answer) -> Response:
    headers = {k: answer.headers[k] for k in PASSED_HEADERS if k in answer.headers}
    return Response(answer.content, media_type=answer.headers.get("content-type"), headers=headers)


@router.get("/cases/{case_ref}/attachments/{number}")
async def case_attachment(request: Request, runtime: RuntimeDep, case_ref: str, number: int) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    async with person.api() as api:
        answer = await api.get(f"{API}/cases/{case_ref}/attachments/{number}")
    if not answer.ok:
        return person.page("refused.html", "cases", refusal=answer.refusal(s404="未找到该材料，或不在您的辖区内。"))
    return _file(answer)


_DOCUMENT_REFUSALS = {
    "s409": "该文书在案件当前阶段尚不能出具。", "s404": NOT_YOURS, "s422": "没有这种文书。",
    "s503": "文书暂时无法生成：服务器缺少中文字体，请联系管理员。",
}  # fmt: skip


@router.post("/cases/{case_ref}/documents/{kind}")
async def case_document_issue(request: Request, runtime: RuntimeDep, case_ref: str, kind: str) -> Response:
    """出具: the API issues the document — its 文号 the first time, the same one after — and the PDF is shown."""
    form = await posted(request, runtime, dict)
    if isinstance(form, Response):
        return form
    person, fields = form
    of = _one(fields, "of")
    if not DOCUMENT_KIND.fullmatch(kind) or of not in ("", "notice", "intended-decision", "decision"):
        return person.page("refused.html", "cases", refusal="没有这种文书。")
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/cases/{case_ref}/documents/{kind}", params={"of": of})
    if not answer.ok:
        return await _render_case(person, runtime, case_ref, problem=answer.refusal(**_DOCUMENT_REFUSALS))
    return _file(answer)


@router.get("/cases/{case_ref}/documents/{kind}")
async def case_document(
    request: Request,
    runtime: RuntimeDep,
    case_ref: str,
    kind: str,
    of: Annotated[str | None, Query(pattern="^(notice|intended-decision|decision)?$")] = None,
) -> Response:
    """An issued document again as PDF, with its number (a read issues nothing: 出具 is the form above)."""
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    if not DOCUMENT_KIND.fullmatch(kind):
        return person.page("refused.html", "cases", refusal="没有这种文书。")
    async with person.api() as api:
        answer = await api.get(f"{API}/cases/{case_ref}/documents/{kind}", {"of": of})
    if not answer.ok:
        words = _DOCUMENT_REFUSALS | {"s409": "该文书尚未出具：请先在案件页点击“出具”。"}
        return await _render_case(person, runtime, case_ref, problem=answer.refusal(**words))
    return _file(answer)


# --- 通知 (in-app notices) ------------------------------------------------------------------------------


@router.get("/notices")
async def notices(request: Request, runtime: RuntimeDep) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    async with person.api() as api:
        answer = await api.get(f"{API}/cases/notices")
    if not answer.ok:
        return person.page("notices.html", "notices", refusal=answer.refusal())
    return person.page("notices.html", "notices", data=answer.body)


# --- 督办 ----------------------------------------------------------------------------------------


@router.get("/supervision")
async def supervision(
    request: Request, runtime: RuntimeDep, region_code: Annotated[str | None, Query(pattern=r"^(\d{6})?$")] = None
) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    async with person.api() as api:
        items, refusal = await _all(api, f"{API}/cases/supervised", {"region_code": region_code}, cap=1000)
    return person.page("supervision.html", "supervision", items=items, refusal=refusal, region_code=region_code,
                       regions=_sub_regions(person.account.regions))  # fmt: skip


# --- 公示 ----------------------------------------------------------------------------------------


@router.get("/publications")
async def publications(request: Request, runtime: RuntimeDep) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    return await _render_publications(person)


async def _render_publications(person: Person, **extra: Any) -> Response:
    async with person.api() as api:
        items, refusal = await _all(api, f"{API}/publications", {}, cap=500)
    today = china_today()
    provinces = sorted({code[:2] + "0000" for code in person.account.regions if code != "000000"})
    return person.page("publications.html", "publications", items=items, refusal=refusal, provinces=provinces,
                       can_draft=person.holds(Scope.campaign_admin),
                       period={"from": f"{today.year}-01-01", "to": today.isoformat()}, **extra)  # fmt: skip


@router.post("/publications")
async def publication_draft(request: Request, runtime: RuntimeDep) -> Response:
    form = await posted(request, runtime, dict)
    if isinstance(form, Response):
        return form
    person, fields = form
    body = {"region_code": _one(fields, "region_code"), "from": _one(fields, "from"), "to": _one(fields, "to")}
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/publications", json=body)
    if not answer.ok:
        return await _render_publications(person, problem=answer.refusal(
            s403="只有省级管理员可以拟定本省的公示名单。", s422="请填写省份和起止日期。"))  # fmt: skip
    return RedirectResponse(f"/console/publications/{answer.body['publication_id']}", status_code=303)


@router.get("/publications/{publication_id}")
async def publication(request: Request, runtime: RuntimeDep, publication_id: str) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    return await _render_publication(person, publication_id)


async def _render_publication(person: Person, publication_id: str, **extra: Any) -> Response:
    async with person.api() as api:
        answer = await api.get(f"{API}/publications/{publication_id}")
    if not answer.ok:
        return person.page("refused.html", "publications",
                           refusal=answer.refusal(s404="未找到该公示名单，或不在您的辖区内。", s422="未找到该公示名单。"))  # fmt: skip
    item = answer.body
    return person.page("publication.html", "publications", item=item,
                       can_approve=person.holds(Scope.campaign_admin) and item["status"] == "draft"
                       and item["created_by"] != person.account.username, **extra)  # fmt: skip


@router.post("/publications/{publication_id}/approve")
async def publication_approve(request: Request, runtime: RuntimeDep, publication_id: str) -> Response:
    form = await posted(request, runtime, dict)
    if isinstance(form, Response):
        return form
    person, _ = form
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/publications/{publication_id}/approve")
    if not answer.ok:
        return await _render_publication(person, publication_id, problem=answer.refusal(
            s403="拟定人不能审核自己拟定的名单，须由另一位省级工作人员审核。", s409="该名单已审核。"))  # fmt: skip
    return RedirectResponse(f"/console/publications/{publication_id}", status_code=303)


@router.get("/publications/{publication_id}/export")
async def publication_export(
    request: Request,
    runtime: RuntimeDep,
    publication_id: str,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    async with person.api() as api:
        answer = await api.get(f"{API}/publications/{publication_id}/export", {"format": format})
    if not answer.ok:
        return await _render_publication(person, publication_id, problem=answer.refusal(s409="名单审核后才能导出。"))
    return _file(answer)


# --- 投诉举报 ----------------------------------------------------------------------------------------


@router.get("/complaints")
async def complaints(
    request: Request,
    runtime: RuntimeDep,
    status: Annotated[str | None, Query(pattern="^(registered|assigned|answered)?$")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    return await _render_complaints(person, status, cursor)


async def _render_complaints(person: Person, status: str | None, cursor: str | None, **extra: Any) -> Response:
    async with person.api() as api:
        answer = await api.get(f"{API}/complaints", {"status": status, "cursor": cursor, "limit": 100})
    context: dict[str, Any] = {"status": status, "statuses": COMPLAINT_STATUSES, "channels": CHANNELS,
                               "regions": _sub_regions(person.account.regions), "today": china_today().isoformat(),
                               "can_write": person.holds(Scope.complaints_write), **extra}  # fmt: skip
    if answer.ok:
        context["items"] = answer.body["items"]
        if answer.body.get("next_cursor"):
            context["next"] = urlencode({"status": status or "", "cursor": answer.body["next_cursor"]})
    else:
        context["refusal"] = answer.refusal()
    return person.page("complaints.html", "complaints", **context)


@router.post("/complaints")
async def complaint_intake(request: Request, runtime: RuntimeDep) -> Response:
    form = await posted(request, runtime, dict)
    if isinstance(form, Response):
        return form
    person, fields = form
    keys = ("channel", "received_on", "region_code", "subject_person_ref", "subject_unit_name", "subject_unit_uscc",
            "content")  # fmt: skip
    body = {key: _one(fields, key) for key in keys if _one(fields, key)}
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/complaints", json=body)
    if not answer.ok:
        return await _render_complaints(person, None, None, problem=_problem(answer), form=body)
    return RedirectResponse(f"/console/complaints/{answer.body['registration_no']}", status_code=303)


@router.get("/complaints/{complaint_ref}")
async def complaint(request: Request, runtime: RuntimeDep, complaint_ref: str) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    return await _render_complaint(person, complaint_ref)


async def _render_complaint(person: Person, complaint_ref: str, **extra: Any) -> Response:
    async with person.api() as api:
        answer = await api.get(f"{API}/complaints/{complaint_ref}")
        if not answer.ok:
            return person.page("refused.html", "complaints",
                               refusal=answer.refusal(s404="未找到该投诉举报，或不在您的辖区内。", s422="未找到该投诉举报。"))  # fmt: skip
        history, _ = await _all(api, f"{API}/complaints/{complaint_ref}/history", {}, cap=500)
        linked = [await api.get(f"{API}/cases/{case_id}") for case_id in answer.body.get("case_ids", [])]
    return person.page("complaint.html", "complaints", item=answer.body, today=china_today().isoformat(),
                       history=[{**e, "changes": _changes(e)} for e in history],
                       cases=[c.body for c in linked if c.ok],
                       can_write=person.holds(Scope.complaints_write), **extra)  # fmt: skip


@router.post("/complaints/{complaint_ref}/{action}")
async def complaint_act(request: Request, runtime: RuntimeDep, complaint_ref: str, action: str) -> Response:
    """answer (答复), cases (link a case by its number, or open/join the subject person's), assign."""
    form = await posted(request, runtime, dict)
    if isinstance(form, Response):
        return form
    person, fields = form
    keys = {"answer": ("answer", "answered_on"), "cases": ("case_id",), "assign": ("assignee", "due_on", "reason")}
    if action not in keys:
        return await _render_complaint(person, complaint_ref, problem="未知的操作。")
    body = {key: _one(fields, key) for key in keys[action] if _one(fields, key)}
    if action == "answer" and not body.get("answer"):
        return await _render_complaint(person, complaint_ref, problem="请填写答复内容。")
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/complaints/{complaint_ref}/{action}", json=body)
    if not answer.ok:
        return await _render_complaint(person, complaint_ref, problem=_problem(answer))
    return RedirectResponse(f"/console/complaints/{quote(complaint_ref)}", status_code=303)
