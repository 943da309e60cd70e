"""The deploy commands of ``cws``: ``deploy`` and ``package``.

``cws deploy`` plans, packages and applies (see :mod:`coworks.deploy`); with
``--dry-run`` it prints the plan and calls no AWS API. ``cws package`` writes the zip
the functions would run, to look into it or to upload it by other means.
"""

from __future__ import annotations

from pathlib import Path

import click

from coworks.cli import project_dir


@click.command("deploy")
@click.option("--stage", default="dev", show_default=True, help="The stage to deploy.")
@click.option(
    "--endpoint-url",
    default=None,
    metavar="URL",
    callback=lambda ctx, param, value: _endpoint(value),
    help="Send every AWS request there (e.g. a local moto server); default: the "
    "stage's endpoint_url, else AWS itself.",
)
@click.option(
    "--layer",
    "layers",
    multiple=True,
    metavar="ARN",
    help="A Lambda layer given to every function; repeat for several. The package "
    "holds no dependencies: give them this way.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; call no AWS API.")
@click.pass_context
def deploy(
    ctx: click.Context,
    stage: str,
    endpoint_url: str | None,
    layers: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Deploy the project's services and workflows on a stage.

    Creates or updates an IAM role, a Lambda function per service and per workflow,
    a REST API with the services and workflows under /<name>/, the state machines,
    the schedules' rules and the declared SQS queues. Running it again updates them.
    """
    from coworks.deploy.model import plan_project
    from coworks.deploy.package import build_package
    from coworks.project import Project

    project = Project.load(project_dir(ctx))
    settings = project.stage(stage)
    endpoint_url = endpoint_url or settings.endpoint_url
    plan = plan_project(project, stage, endpoint_url=endpoint_url, layers=layers)
    package = build_package(project)
    if dry_run:
        for line in plan.lines():
            click.echo(line)
        click.echo(
            f"Package: {len(package.files)} files, {len(package.data) // 1024} KiB. "
            "Nothing was deployed (--dry-run)."
        )
        return

    from coworks.deploy.aws import Aws
    from coworks.deploy.executor import apply_plan

    aws = Aws(region=plan.region, endpoint_url=endpoint_url)
    click.echo(f"Deploying '{project.name}' on the stage '{stage}' to {aws.where}")
    deployed = apply_plan(plan, package, aws, progress=lambda line: click.echo(line))
    for note in plan.notes:
        click.echo(f"Note: {note}", err=True)
    if deployed.api_url:
        click.echo(f"Deployed. The API answers at {deployed.api_url}/<name>/...")
    else:
        click.echo("Deployed. The project has no service or workflow to serve.")


@click.command("package")
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The folder to write <project>.zip in; default: .cws/package in the project.",
)
@click.pass_context
def package(ctx: click.Context, output: Path | None) -> None:
    """Write the zip every Lambda function of the project runs.

    It holds the project folder and the coworks package, not the dependencies.
    """
    from coworks.deploy.model import DEPENDENCIES_NOTE
    from coworks.deploy.package import build_package
    from coworks.project import Project

    project = Project.load(project_dir(ctx))
    built = build_package(project)
    path = built.write(output or project.folder / ".cws" / "package")
    click.echo(f"{path}: {len(built.files)} files, {len(built.data) // 1024} KiB")
    click.echo(f"Note: {DEPENDENCIES_NOTE}", err=True)


def _endpoint(value: str | None) -> str | None:
    """Refuse an endpoint that is not an http(s) URL, as the project file does."""
    if value is not None and not value.startswith(("http://", "https://")):
        raise click.BadParameter(
            f"expected an http:// or https:// URL, got {value!r} (e.g. "
            "http://127.0.0.1:5000 for a local moto server).",
            param_hint="--endpoint-url",
        )

    return value
