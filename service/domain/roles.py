"""Roles of the platform and the one table that maps BPMN lane names to them.

Designers name lanes in Chinese as the manual does; a lane may also be named by the
role id itself. `memberflow check` refuses a lane that is in neither column.
"""

from __future__ import annotations

ROLES: dict[str, str] = {
    "member": "个人会员",
    "unit_admin": "单位管理员",
    "agency_reviewer": "会员服务机构",
    "association_reviewer": "协会审核",
    "finance_reviewer": "协会财务",
    "secretariat_admin": "秘书处管理员",
    "designer": "流程设计人员",  # deploys processes/, rules/, forms/; acts in no lane
}
NO_LANE = frozenset({"designer"})  # roles that never act on a task

# lane name in a BPMN diagram -> role id
LANE_ROLES: dict[str, str] = {
    "个人会员": "member",
    "单位管理员": "unit_admin",
    "单位": "unit_admin",
    "会员服务机构": "agency_reviewer",
    "初审机构": "agency_reviewer",
    "协会审核": "association_reviewer",
    "协会": "association_reviewer",
    "协会财务": "finance_reviewer",
    "财务": "finance_reviewer",
    "秘书处": "secretariat_admin",
    **{role: role for role in ROLES if role not in NO_LANE},
}


def role_for_lane(lane: str | None) -> str | None:
    """The role that acts in a lane, or None when the lane is unknown."""
    return LANE_ROLES.get(lane or "")
