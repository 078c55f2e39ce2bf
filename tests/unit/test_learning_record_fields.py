"""登记成绩 shows a refused result at the field it is about: each refusal the learning
records' check gives one row (service/services/education/learning.py), as it words it,
belongs to 已完成学时, 考试状态 or 考试次数, or to the record as a whole."""

from __future__ import annotations

import pytest

from service.services.membership.learning_desk import field_of


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("已完成学时应为不小于0的数字", "completed_hours"),
        ("已完成学时不能超过学习任务要求的24学时（现为30）", "completed_hours"),
        ("已完成学时20不足要求的24学时，不能记为考试通过", "completed_hours"),
        ("已完成学时不能少于已记录的12学时（现为8）", "completed_hours"),
        ("考试状态应为 未考试、未通过 或 已通过", "exam_status"),
        ("罗建平已记录考试通过，不能改为未通过", "exam_status"),
        ("罗建平已考试10次未通过，学习任务已结束，不能改为已通过；请重新报名", "exam_status"),
        ("罗建平已记录考试2次，考试状态不能改为未考试", "exam_status"),
        ("考试次数应为不小于0的整数", "exam_attempts"),
        ("考试次数不能超过10次（现为11次）", "exam_attempts"),
        ("考试状态为未考试时考试次数应为0（现为2次）", "exam_attempts"),
        ("考试状态为已通过时考试次数至少为1次", "exam_attempts"),
        ("考试次数不能少于已记录的3次（现为2次）", "exam_attempts"),
        ("罗建平的学习任务已过期", ""),
        ("身份证号 440106197509096787 不在学习名单中（单号 JY-1）", ""),
    ],
)
def test_each_refusal_is_shown_at_its_field(message, field):
    assert field_of(message) == field
