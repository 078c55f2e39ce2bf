"""Error pages: what went wrong and what to do, in Chinese, with the right status."""

from __future__ import annotations

import time

from flask import current_app, g, render_template, request, url_for

from service.db import db
from service.limits import limiter
from service.web.pages import SIGNED_OUT, needs_sign_in, page_actor, page_to_return

HEADINGS = {
    400: "请求无法处理",
    401: "请先登录",
    403: "无权进行此操作",
    404: "页面不存在",
    405: "不支持该操作",
    409: "数据已变化",
    410: "二维码已失效",
    413: "上传内容过大",
    422: "填写有误",
    429: "操作过于频繁",
    500: "系统出错了",
    503: "系统暂时无法使用",
}
ADVICE = {
    404: "您打开的页面不存在，或者您无权查看。请检查地址，或从菜单重新进入。",
    429: "为保护数据安全，短时间内的请求次数有限制，请稍等一分钟后再试。",
    500: "请稍后重试；如果一直出现，请联系协会秘书处。",
    503: "请稍等片刻后刷新页面；如果一直出现，请联系协会秘书处。",
}
# a 500 that has a number (出错编号): what to tell the secretariat
NUMBERED_ADVICE = "请稍后重试；如果一直出现，请联系协会秘书处，并告知上面的出错编号。"
# the phone pages have no menu: what a person who scanned a code or looks up a certificate
# can do instead
PUBLIC_ADVICE = {
    404: "请核对扫描的二维码或输入的地址是否完整。",
}


def _public() -> bool:
    """QR pages and the lookup use the phone layout."""
    return request.path.startswith(("/join/", "/confirm/", "/lookup"))


def _rate_message(fallback: str) -> str:
    """How many requests the limit allows and when the next one may be sent; without a
    flask-limiter limit (the sign-in limiter), its own message (`fallback`) says when."""
    current = limiter.current_limit
    if current is None:
        return fallback
    wait = max(int(current.reset_at - time.time()), 1)
    what = "证书查询" if request.path.startswith("/lookup") else "提交"
    amount = current.limit.amount
    return f"{what}过于频繁：每个网络地址在限定时间内最多{amount}次，请约 {wait} 秒后再试。"


def render_error(status: int, message: str, errors: dict | None = None, title: str | None = None):
    """The error page for a page request (the API answers JSON instead), headed by the
    error's own `title` when it has one, else by its status's heading."""
    db.session.rollback()
    if status == 503:  # the database cannot be reached: the page is drawn without the menu
        g.setdefault("page_actor", None)
    if status == 404 and message in ("请求的资源不存在",):
        message = "页面不存在或您无权查看"
    public = _public()
    advice = (PUBLIC_ADVICE if public else {}).get(status) or ADVICE.get(status)
    if status == 500 and "出错编号" in message:
        advice = NUMBERED_ADVICE
    if status == 429:
        message = _rate_message(message)
        if "秒后再试" in message:  # the message says when already
            advice = None
    heading = title or HEADINGS.get(status, "出错了")
    if errors and set(errors) == {"incident"}:  # a StepFailed: its message names the number
        heading, errors = "流程执行出错", None
    back = None
    if request.path.startswith("/lookup"):
        back = (url_for("public.lookup"), "返回证书查询")
    if status == 413 and _over_the_request_limit():
        message, advice = _too_large()
        back = _the_page_before()
    html = render_template(
        "error.html",
        status=status,
        heading=heading,
        message=message,
        advice=advice,
        errors=errors or {},
        public=public,
        back=back,
    )
    return html, status


def _over_the_request_limit() -> bool:
    """The request was refused before a page read it: larger than a page's form may send."""
    limit = request.max_content_length
    return bool(limit and request.content_length and request.content_length > limit)


def _too_large() -> tuple[str, str]:
    """What a refused form's sender reads: how large its request was, and the limits."""
    config = current_app.extensions["memberflow"].config
    each, total = _size(config.max_upload_bytes), _size(request.max_content_length)
    video = _size(config.max_video_bytes)
    return (
        f"本次提交的文件合计约 {_size(request.content_length)}，超过了上限：每个文件不超过"
        f"{each}（视频不超过{video}），一次提交合计不超过{total}。",
        "请返回上一页，换用较小的照片或较短的视频（如手机拍摄时选择较低的分辨率）后重新提交。",
    )


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)}MB" if n >= 1024 * 1024 else f"{n // 1024}KB"


def _the_page_before() -> tuple[str, str] | None:
    """A link back to the page the form was on, when it was one of ours."""
    referrer = request.referrer or ""
    if referrer.startswith(request.host_url):
        return referrer, "返回上一页"
    return None


def csrf_error(_exc):
    """A POST without a valid CSRF token: refused, with a way back. When the session ended
    meanwhile (timed out, signed out in another tab), the page says so, that nothing was
    saved, and links to the sign-in page that returns to the form's page (the page also marks
    itself for app.js, which restores what was typed there once signed in again)."""
    if not needs_sign_in():  # a public page
        return render_error(400, "页面已过期或来源无法验证（缺少安全令牌），请刷新页面后重新提交。")
    db.session.rollback()
    back = page_to_return()
    if page_actor() is not None:  # still signed in: the page was open too long
        html = render_template(
            "error.html",
            status=400,
            heading=HEADINGS[400],
            message="页面已过期或来源无法验证（缺少安全令牌），本次提交的内容尚未保存。",
            advice="请返回原页面重新提交：您填写的内容会尽量恢复（上传的文件需重新选择）。",
            errors={},
            public=False,
            back=(back, "返回原页面"),
            kept_form=back,
        )
        return html, 400
    html = render_template(
        "error.html",
        status=401,
        heading=HEADINGS[401],
        message=f"{SIGNED_OUT}。本次提交的内容尚未保存。",
        advice="重新登录后将回到原页面，并尽量恢复您填写的内容（上传的文件需重新选择）。",
        errors={},
        public=_public(),
        back=(url_for("account.login", next=back, reason="expired"), "重新登录"),
        kept_form=back,
    )
    return html, 401
