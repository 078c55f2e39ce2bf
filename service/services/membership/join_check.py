"""The join page's check of the applicant's ID number as it is typed (扫码入会).

An applicant fills in the join form on a phone and uploads a photo, the ID card's sides and
the diplomas; only the submission ran the process's eligibility table, so a person too young
or too old learnt it after all of that. The page now asks as soon as the ID number is typed
(app.js), and this answers with the same table the process calls at submission
(rules/member_join_eligibility.dmn: the ages live there, not here), on the same facts of the
document (`id_facts`), before anything else is filled in.

Only what the typed document itself says is judged: the facts the process reads from the
records (a membership held, an application in flight) are given as for a person with none,
so that the check tells nobody anything about anyone's records. The submission checks
everything again.
"""

from __future__ import annotations

from datetime import date

from service.db.uow import UnitOfWork
from service.domain import disclosure
from service.domain.validation import InvalidValue, parse_id
from service.engine import Definition
from service.engine.decisions import DecisionError
from service.engine.helpers import identity_facts
from service.engine.walk_map import read_map
from service.services.membership.join_codes import join_process, resolve
from service.services.workflow.context import Context
from service.services.workflow.instances import cleaned

FIELDS = ("id_type", "id_number", "birth_date")
# the facts the join process's rules read from the records (services/workflow/facts.py and
# the BPMN's script before its table), as for a person the records know nothing of
NO_RECORDS = {
    "is_member": False,
    "held_levels": [],
    "held_applied": [],
    "member_elsewhere": False,
    "join_in_flight": False,
}


def _decision(ctx: Context, defn: Definition) -> str | None:
    """The table that says who may start the process: its start's eligibility_decision, else
    the first table its flow runs after the start (read once per version)."""
    key = ("join_check_decision", defn.digest)
    if key not in ctx.memo:
        ctx.memo[key] = read_map(defn).eligibility
    return ctx.memo[key]


def _iso(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def applicant_problems(ctx: Context, uow: UnitOfWork, code: str, values: dict) -> list[str]:
    """What the join process's eligibility table says of the document typed so far (its
    number, the age on it): the reasons, none when it passes or when there is nothing to
    judge yet (no number, or a passport's holder without the birth date). NotFound or Gone
    for a code its page refuses."""
    resolve(ctx, uow, code)
    key = join_process(ctx)
    defn = ctx.definitions.current[key]
    typed = {k: v.strip() for k in FIELDS if isinstance(v := values.get(k), str) and v.strip()}
    data = cleaned(defn, typed)  # as the submission keeps them: full-width digits and all
    id_type, number = data.get("id_type"), data.get("id_number")
    decision = _decision(ctx, defn)
    if not id_type or not number or decision is None:
        return []
    today = ctx.today()
    born = _iso(data.get("birth_date"))
    try:
        if parse_id(id_type, number, today).birth_date is None and born is None:
            return []  # the age is known once the birth date is entered
    except InvalidValue:
        pass  # the table says what is wrong with the number
    context = {
        **data,
        **NO_RECORDS,
        "applicant": identity_facts(id_type, number, today, born and born.isoformat()),
        "submitted_on": today.isoformat(),
        "process_key": key,
    }
    try:
        found = defn.decisions.evaluate(decision, context, ctx.now())
    except DecisionError:  # a table that reads more than the document: said at submission
        return []
    return disclosure.reason_list(found.get("failure_reasons"))
