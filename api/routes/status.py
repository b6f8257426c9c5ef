"""The public status page a citizen follows (from the kiosk's receipt, a portal, the result QR).

The link's ``t`` is the capability (ekyc.verification.citizen_status): without it, or with a
wrong one, the answer is 404 as for an unknown session. The page shows the status, the
procedure and when it last changed; never a name, a number or an image.
"""

from __future__ import annotations

import hmac
import html
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import RuntimeDep, SessionId, anonymous_limit
from api.pages import PAGE_HEADERS
from api.schemas import problem_responses
from ekyc.verification.citizen_status import LABELS, CitizenStatus, status_token
from ekyc.verification.result import verify_link
from ekyc.verification.service import SessionNotFound
from ekyc.verification.states import is_final

router = APIRouter(tags=["status"])

_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">{refresh}
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/common/ekyc.css">
<title>Trạng thái hồ sơ / File status</title></head>
<body><header class="bar"><h1>Trạng thái hồ sơ <span lang="en">/ File status</span></h1></header>
<main><p class="big {cls}" id="status">{label_vi}<span class="en" lang="en"> / {label_en}</span></p>
<dl><dt>Thủ tục / Procedure</dt><dd>{procedure}</dd>
<dt>Cập nhật lúc / Last change</dt><dd>{updated}</dd>
<dt>Mã hồ sơ / File</dt><dd><code>{sid}</code></dd></dl>
{result}
<p class="muted">{hint}</p></main></body></html>
"""
_HINTS = {
    CitizenStatus.SUBMITTED: "Hồ sơ đã được mở tại quầy. / The file has been opened.",
    CitizenStatus.RECEIVED: "Hồ sơ đang được kiểm tra; trang tự cập nhật. "
    "/ The file is being checked; this page refreshes itself.",
    CitizenStatus.NEEDS_MORE_DOCUMENTS: "Vui lòng nộp lại hồ sơ tại quầy hoặc trên cổng dịch vụ "
    "công. / Please submit again at the counter or on the public-service portal.",
    CitizenStatus.REJECTED: "Hồ sơ không được chấp nhận; liên hệ cơ quan giải quyết để biết lý do. "
    "/ The file was not accepted; ask the office for the reason.",
    CitizenStatus.DONE: "Kết quả đã được ký số. / The result is digitally signed.",
}
_CLASS = {
    CitizenStatus.DONE: "ok",
    CitizenStatus.REJECTED: "bad",
    CitizenStatus.NEEDS_MORE_DOCUMENTS: "warn",
}


@router.get(
    "/s/{session_id}",
    responses={
        200: {"content": {"text/html": {}, "application/json": {}}},
        **problem_responses(404, 422, 429),
    },
    dependencies=[Depends(anonymous_limit)],
    response_class=HTMLResponse,
)
def status_page(
    request: Request,
    session_id: SessionId,
    rt: RuntimeDep,
    t: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{16,64}$", description="from the link")],
    format: Annotated[str | None, Query(pattern="^(json|html)$")] = None,
) -> Response:
    """Where the citizen's file stands (JSON on request); no key, no personal data."""
    view = rt.service.get_session(session_id)
    if not hmac.compare_digest(status_token(view.server_nonce), t):
        raise SessionNotFound(f"no session {session_id!r}")
    status = view.citizen_status
    label_vi, label_en = LABELS[status]
    procedure = rt.service.policy.procedure(view.procedure).title
    result_url = None
    if is_final(view.state):
        signed = rt.service.result(session_id)
        result_url = verify_link(rt.settings.verify_link_base, session_id, signed.token)
    out = {
        "session_id": session_id,
        "status": status.value,
        "label_vi": label_vi,
        "label_en": label_en,
        "procedure": view.procedure,
        "procedure_title": procedure,
        "updated_at": view.updated_at.isoformat(),
        "final": is_final(view.state),
        "result_url": result_url,
    }
    wants_json = format == "json" or (
        format is None and "application/json" in request.headers.get("accept", "")
    )
    if wants_json:
        return JSONResponse(out, headers={"Cache-Control": "no-store"})
    result = (
        f'<p><a href="{html.escape(result_url)}">Kết quả đã ký / Signed result</a></p>'
        if result_url
        else ""
    )
    page = _PAGE.format(
        refresh="" if out["final"] else '\n<meta http-equiv="refresh" content="30">',
        cls=_CLASS.get(status, ""),
        label_vi=html.escape(label_vi),
        label_en=html.escape(label_en),
        procedure=html.escape(procedure),
        updated=html.escape(view.updated_at.strftime("%Y-%m-%d %H:%M UTC")),
        sid=html.escape(session_id),
        result=result,
        hint=html.escape(_HINTS[status]),
    )
    return HTMLResponse(page, headers=PAGE_HEADERS)
