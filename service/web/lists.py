"""What every list page shares: reading its URL (filters, paging) strictly, and its paging.

An unknown parameter, a date that is not a date or a page out of range is an error the
page shows (422), never a silently different list.
"""

from __future__ import annotations

from datetime import date

from service.domain.dates import DATE_EXAMPLE
from service.domain.validation import iso_date

PAGE_SIZES = (10, 20, 50, 100)
MAX_PAGE = 100000
MAX_ID = 2**31 - 1
MAX_CURSOR = 400  # as the API's `after`

# what each list page's query parameters are called on the page, so that every error names
# its field (`_macros.query_errors`; a page may pass its own words for a field)
LABELS = {
    "page": "页码",
    "page_size": "每页条数",
    "after": "翻页",
    "agency_id": "初审机构",
    "q": "查询内容",
    "status": "状态",
    "state": "状态",
    "role": "角色",
    "key": "业务类型",
    "process": "业务类型",
    "task_name": "任务",
    "sort": "排序",
    "submitted_from": "提交日期（起）",
    "submitted_to": "提交日期（止）",
    "receipt_from": "开票日期（起）",
    "receipt_to": "开票日期（止）",
    "unit": "单位",
    "read": "阅读状态",
    "category": "问题类型",
    "certificate_type": "证书类型",
    "select_page": "全选本页",
    "select_all": "全选筛选结果",
}


def _int(name: str, value: str, low: int, high: int, errors: dict) -> int | None:
    try:
        number = int(value)
    except ValueError:
        errors[name] = "应为整数"
        return None
    if not low <= number <= high:
        errors[name] = f"应在{low}到{high}之间"
        return None
    return number


def _date(name: str, value: str, errors: dict) -> date | None:
    try:
        return iso_date(value)
    except ValueError:
        errors[name] = f"请输入有效日期，如 {DATE_EXAMPLE}"
        return None


MAX_TEXT = 200  # a text filter: a unit's full name (at most 200) is the longest typed


def parse(
    args, names: tuple[str, ...], ids: tuple[str, ...] = (), cursor: bool = False
) -> tuple[dict, dict, dict]:
    """(filters, paging, errors) from a list URL: `names` are its filters, of which those
    ending in `_from`/`_to` are dates and `ids` are record ids; with `cursor` the list pages
    by `after` too (the next page's cursor its 下一页 link carries); anything else is an
    error."""
    errors: dict[str, str] = {}
    filters: dict = {}
    paged_by = ("page", "page_size", "after") if cursor else ("page", "page_size")
    for name in args:
        if name not in names + paged_by:
            errors[name] = f"不支持的查询条件「{name}」"
    for name in names:
        value = (args.get(name) or "").strip()
        if not value:
            continue
        if name in ids:
            filters[name] = _int(name, value, 1, MAX_ID, errors)
        elif name.endswith(("_from", "_to")):
            filters[name] = _date(name, value, errors)
        elif len(value) > MAX_TEXT:
            errors[name] = f"查询内容过长：最多{MAX_TEXT}个字"
        else:
            filters[name] = value
    paging = {"page": 1, "page_size": 20}
    if args.get("page"):
        paging["page"] = _int("page", args["page"], 1, MAX_PAGE, errors) or 1
    if args.get("page_size"):
        paging["page_size"] = _int("page_size", args["page_size"], 1, 200, errors) or 20
    if cursor and args.get("after"):
        if len(args["after"]) > MAX_CURSOR:
            errors["after"] = "翻页游标无效，请从列表重新翻页"
        else:
            paging["after"] = args["after"]
    return {k: v for k, v in filters.items() if v is not None}, paging, errors


def page_count(listing: dict) -> int:
    """How many pages a listing has (at least one)."""
    return max((listing["total"] + listing["page_size"] - 1) // listing["page_size"], 1)
