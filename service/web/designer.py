"""流程目录 and 部署流程: the designers' pages (the secretariat and the association read the
catalogue too). The catalogue lists each process's versions with the forms on each; the
deploy page takes a zip of processes/, rules/ and forms/ and shows either the versions it
recorded or every problem `memberflow check` finds, in Chinese (services/workflow/deploy.py).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from service.domain.errors import FormInvalid, NotFound, TooLarge
from service.services.workflow import definitions as versions
from service.services.workflow import deploy
from service.services.workflow.scope import may_deploy, sees_process_keys, sees_process_maps
from service.web.pages import ctx, signed_in, uow

bp = Blueprint("designer", __name__)
NO_STORE = {"Cache-Control": "no-store"}


@bp.route("/processes/catalogue")
@signed_in()
def catalogue(who):
    """流程目录: each process, the version new forms start on, and the forms on each version."""
    with uow() as u:
        processes = versions.catalogue(ctx(), u, who)
    return render_template(
        "designer/catalogue.html",
        processes=processes,
        may_deploy=may_deploy(who),
        maps=sees_process_maps(who),
        keys=sees_process_keys(who),
    )


@bp.route("/processes/<key>/versions")
@signed_in()
def process_versions(who, key):
    """One process's versions, newest first: content hash, deploy time and who, counts."""
    with uow() as u:
        found = versions.list_versions(ctx(), u, who, key)
    return render_template(
        "designer/versions.html",
        found=found,
        maps=sees_process_maps(who),
        keys=sees_process_keys(who),
    )


@bp.route("/processes/deploy", methods=["GET", "POST"])
@signed_in()
def deploy_page(who):
    """部署流程: upload the zip; the versions recorded, or every problem (nothing recorded)."""
    if not may_deploy(who):
        raise NotFound("页面不存在或您无权查看")
    result, problems, error, status = None, [], None, 200
    with uow() as u:  # one transaction: the history read first, then the deploy
        history = versions.list_deployments(u, who)
        if request.method == "POST":
            upload = request.files.get("bundle")
            content = upload.read() if upload is not None else b""
            try:
                if not content:
                    raise FormInvalid(
                        {"bundle": "请选择要部署的 zip 文件"}, "请选择要部署的 zip 文件"
                    )
                result = deploy.deploy_zip(ctx(), u, who, content)
            except deploy.DeployRefused as exc:
                problems, error, status = exc.problems, exc.message, 422
            except (FormInvalid, TooLarge) as exc:
                error, status = exc.message, exc.status
    if result and result["changed"]:
        created = [p["key"] for p in result["processes"] if p["new"]]
        switched = [
            {"key": p["key"], "from": p["was"], "to": p["version"]}
            for p in result["processes"]
            if not p["new"] and p.get("was") and p["was"] != p["version"]
        ]
        history.insert(0, {**result, "created": created, "switched": switched})
    html = render_template(
        "designer/deploy.html",
        result=result,
        problems=problems,
        error=error,
        history=history[:10],
        names={k: d.name for k, d in ctx().definitions.current.items()},
        recheck=ctx().definitions.recheck,
        keys=sees_process_keys(who),
    )
    return html, status, NO_STORE
