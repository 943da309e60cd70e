"""The project: ``project.cws.yml`` and what it names.

A project folder holds a ``project.cws.yml`` file, described by
``schemas/project.schema.json``::

    name: shop
    services:
      hello: services.hello:app
    workflows: .
    stages:
      dev:
        engine: embedded
        environment: {GREETING: hello}
      prod:
        region: eu-west-1
        account: "123456789012"
        engine: aws

:meth:`Project.load` reads and checks it (every problem names the file, line and key),
:meth:`Project.services` imports the technical microservices, and
:meth:`Project.lambda_arn` gives each service's Lambda ARN per stage, following the
naming contract ``<project>-<service>-<stage>``.
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coworks.document import (
    Document,
    did_you_mean,
    load_file,
    load_schema,
    validate_schema,
)
from coworks.errors import ConfigError
from coworks.problems import RANK_SEMANTIC, Problem, ProblemsError

logger = logging.getLogger(__name__)

#: The name of the project file inside a project folder.
PROJECT_FILE = "project.cws.yml"

#: The stage used when none is given, and always available even when not declared.
DEFAULT_STAGE = "dev"

#: Region and account of a stage that does not name them: those of a local ARN.
LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = "000000000000"

#: Project folders whose modules this process imported, so a module of the same name
#: from another project can replace them (tests load many small projects).
_PROJECT_FOLDERS: set[Path] = set()


@dataclass(frozen=True)
class Stage:
    """The settings of one stage of a project.

    Args:
        name: the stage name, e.g. ``dev``.
        region: the AWS region.
        account: the 12-digit AWS account id.
        engine: ``embedded`` (the local engine) or ``aws`` (Step Functions).
        endpoint_url: the Step Functions endpoint for ``engine: aws``, when not AWS's.
        environment: environment variables given to the services.
    """

    name: str
    region: str = LOCAL_REGION
    account: str = LOCAL_ACCOUNT
    engine: str = "embedded"
    endpoint_url: str | None = None
    environment: dict[str, str] = field(default_factory=dict)


def substitution_key(service: str) -> str:
    """Return the ASL placeholder name of a service: ``tech_`` and its safe name.

    Every character outside ``[A-Za-z0-9_]`` becomes ``_``, so ``mail-out`` gives
    ``tech_mail_out`` (written ``${tech_mail_out}`` in compiled ASL).
    """
    return "tech_" + re.sub(r"[^A-Za-z0-9_]", "_", service)


@dataclass
class Project:
    """A loaded project file. Build it with :meth:`load`.

    Args:
        folder: the project folder.
        name: the project name.
        targets: each service's ``module:attribute``, by service name.
        workflows_dir: the folder holding the workflow files.
        stages: the declared stages, by name.
        authorizer: the service whose ``auth`` protects the workflows, if any.
        document: the loaded project file, used to place problems.
    """

    folder: Path
    name: str
    targets: dict[str, str]
    workflows_dir: Path
    stages: dict[str, Stage]
    authorizer: str | None
    document: Document
    _services: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def file(self) -> Path:
        """Return the path of the project file."""
        return self.folder / PROJECT_FILE

    @classmethod
    def load(cls, folder: str | Path = ".") -> Project:
        """Read and check the project file of ``folder``.

        Args:
            folder: the project folder, holding ``project.cws.yml``.

        Returns:
            The project; its services are imported later, by :meth:`services`.

        Raises:
            ConfigError: the folder or its project file does not exist.
            ProblemsError: the project file is not valid, each problem naming the
                file, line and key.
        """
        root = Path(folder).resolve()
        if not root.is_dir():
            raise ConfigError(
                f"The project folder '{folder}' does not exist: pass an existing "
                "folder with -p/--project-dir."
            )
        path = root / PROJECT_FILE
        if not path.is_file():
            raise ConfigError(
                f"There is no {PROJECT_FILE} in '{folder}': create a project with "
                "'cws new NAME', or pass the project folder with -p/--project-dir."
            )

        # Problems quote the path as the user wrote it (workflows/project.cws.yml).
        document = load_file(Path(folder) / PROJECT_FILE)
        problems = validate_schema(document, load_schema("project.schema.json"))
        if problems:
            raise ProblemsError(problems)

        project = cls._from_document(root, document)
        logger.debug("loaded project %s from %s", project.name, path)

        return project

    @classmethod
    def _from_document(cls, root: Path, document: Document) -> Project:
        data: dict[str, Any] = document.data
        targets: dict[str, str] = dict(data.get("services") or {})
        stages = {
            name: _stage(name, settings or {})
            for name, settings in (data.get("stages") or {}).items()
        }
        workflows = data.get("workflows", ".")
        authorizer = data.get("authorizer")

        problems: list[Problem] = []
        workflows_dir = (root / workflows).resolve()
        if "workflows" in data and not workflows_dir.is_dir():
            problems.append(
                document.problem(
                    ("workflows",),
                    f"The workflows folder '{workflows}' does not exist in the "
                    "project folder.",
                    hint="create it, or fix the path (relative to the project file).",
                    code="missing-folder",
                    at_key=False,
                )
            )
        if authorizer is not None and authorizer not in targets:
            problems.append(
                document.problem(
                    ("authorizer",),
                    f"The authorizer '{authorizer}' is not one of the project's "
                    "services.",
                    hint=did_you_mean(authorizer, targets)
                    or "name a service declared under 'services'.",
                    code="unknown-service",
                    at_key=False,
                )
            )
        for name, stage in stages.items():
            if stage.engine == "aws" and "account" not in (data["stages"][name] or {}):
                problems.append(
                    document.problem(
                        ("stages", name),
                        f"The stage '{name}' runs on AWS but names no account.",
                        hint="add 'account: \"123456789012\"' (your AWS account id).",
                        code="missing-account",
                    )
                )
        problems.extend(_long_function_names(document, targets, stages))
        if problems:
            raise ProblemsError(problems)

        return cls(
            folder=root,
            name=data["name"],
            targets=targets,
            workflows_dir=workflows_dir,
            stages=stages,
            authorizer=authorizer,
            document=document,
        )

    # -- stages -----------------------------------------------------------------------

    def stage(self, name: str = DEFAULT_STAGE) -> Stage:
        """Return a stage's settings; ``dev`` has local defaults when not declared.

        Raises:
            ConfigError: the stage is not declared in the project file.
        """
        found = self.stages.get(name)
        if found is not None:
            return found
        if name == DEFAULT_STAGE:
            return Stage(DEFAULT_STAGE)

        declared = ", ".join(sorted({DEFAULT_STAGE, *self.stages}))
        hint = did_you_mean(name, self.stages)
        raise ConfigError(
            f"The stage '{name}' is not declared in {self.file}: the project has "
            f"{declared}. "
            + (hint.capitalize() if hint else "Declare it under 'stages'.")
        )

    # -- services ---------------------------------------------------------------------

    def services(self) -> dict[str, Any]:
        """Import the technical microservices and return them by name (cached).

        Returns:
            Each service instance (a ``TechMicroService``) by its project name.

        Raises:
            ProblemsError: a ``module:attribute`` cannot be imported or does not name a
                service instance; the problem points at its line in the project file.
        """
        if self._services is None:
            services: dict[str, Any] = {}
            problems: list[Problem] = []
            for name, target in self.targets.items():
                try:
                    services[name] = self._import(name, target)
                except _TargetError as err:
                    problems.append(err.problem)
            if problems:
                raise ProblemsError(problems)
            self._services = services

        return self._services

    def service(self, name: str) -> Any:
        """Return one service by name, importing the project's services if needed.

        Raises:
            ConfigError: the project has no service of that name.
        """
        self._check_service(name)

        return self.services()[name]

    def _check_service(self, name: str) -> None:
        if name not in self.targets:
            declared = ", ".join(sorted(self.targets)) or "none"
            hint = did_you_mean(name, self.targets)
            raise ConfigError(
                f"The project '{self.name}' has no service '{name}' (its services: "
                f"{declared}). "
                + (hint.capitalize() if hint else f"Declare it in {self.file}.")
            )

    def _import(self, name: str, target: str) -> Any:
        module_name, _, attribute = target.partition(":")
        path = ("services", name)
        source = self._module_source(module_name)
        if source is None:
            relative = module_name.replace(".", "/")
            raise _TargetError(
                self._problem(
                    path,
                    f"The module '{module_name}' of service '{name}' is not in the "
                    f"project folder: expected {relative}.py or "
                    f"{relative}/__init__.py.",
                    "write the dotted module path relative to the project folder.",
                )
            )

        self._prepare_import(module_name)
        try:
            module = importlib.import_module(module_name)
        except Exception as err:
            logger.debug("importing %s failed", module_name, exc_info=True)
            raise _TargetError(
                self._problem(
                    path,
                    f"Importing the module '{module_name}' of service '{name}' failed: "
                    f"{type(err).__name__}: {err}.",
                    f"fix {source.relative_to(self.folder)}.",
                )
            ) from err

        if not hasattr(module, attribute):
            names = [n for n in vars(module) if not n.startswith("_")]
            raise _TargetError(
                self._problem(
                    path,
                    f"The module '{module_name}' has no attribute '{attribute}' "
                    f"for service '{name}'.",
                    did_you_mean(attribute, names)
                    or "use 'module:name' with the name of the service instance.",
                )
            )
        service = getattr(module, attribute)
        if isinstance(service, type):
            raise _TargetError(
                self._problem(
                    path,
                    f"'{target}' is the class {service.__name__}, not a service "
                    "instance.",
                    f"create one in the module, e.g. 'app = {service.__name__}()', "
                    "and point at it.",
                )
            )
        if not callable(service) or not hasattr(service, "routes"):
            raise _TargetError(
                self._problem(
                    path,
                    f"'{target}' is a {type(service).__name__}, not a "
                    "TechMicroService instance.",
                    "point at an instance of a TechMicroService subclass.",
                )
            )

        return service

    def _module_source(self, module_name: str) -> Path | None:
        relative = Path(*module_name.split("."))
        for candidate in (
            self.folder / relative.with_suffix(".py"),
            self.folder / relative / "__init__.py",
        ):
            if candidate.is_file():
                return candidate

        return None

    def _prepare_import(self, module_name: str) -> None:
        # The project folder goes first on sys.path so its modules win; a module of the
        # same name imported earlier from another project folder is forgotten.
        folder = str(self.folder)
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
        _PROJECT_FOLDERS.add(self.folder)
        importlib.invalidate_caches()

        top = module_name.split(".")[0]
        existing = sys.modules.get(top)
        origin = getattr(existing, "__file__", None)
        if existing is None or origin is None:
            return
        origin_path = Path(origin).resolve()
        if self.folder in origin_path.parents:
            return
        if any(other in origin_path.parents for other in _PROJECT_FOLDERS):
            for key in [k for k in sys.modules if k == top or k.startswith(top + ".")]:
                del sys.modules[key]

    def _problem(self, path: tuple[str, ...], message: str, hint: str) -> Problem:
        return self.document.problem(
            path, message, hint=hint, code="bad-service", rank=RANK_SEMANTIC
        )

    # -- names on AWS -----------------------------------------------------------------

    def function_name(self, service: str, stage: str = DEFAULT_STAGE) -> str:
        """Return a service's Lambda function name: ``<project>-<service>-<stage>``.

        Raises:
            ConfigError: the service or the stage is not declared.
        """
        self._check_service(service)
        self.stage(stage)

        return f"{self.name}-{service}-{stage}"

    def lambda_arn(self, service: str, stage: str = DEFAULT_STAGE) -> str:
        """Return the Lambda ARN of a service in a stage.

        The region and account are the stage's; a stage that does not name them (a
        local one) gives ``arn:aws:lambda:us-east-1:000000000000:function:...``.

        Raises:
            ConfigError: the service or the stage is not declared.
        """
        settings = self.stage(stage)
        function = self.function_name(service, stage)

        return (
            f"arn:aws:lambda:{settings.region}:{settings.account}:function:{function}"
        )

    def substitutions(self, stage: str = DEFAULT_STAGE) -> dict[str, str]:
        """Return the ``tech_<service>`` placeholders of compiled ASL and their ARNs.

        Raises:
            ConfigError: the stage is not declared.
        """
        return {
            substitution_key(service): self.lambda_arn(service, stage)
            for service in self.targets
        }

    # -- workflows --------------------------------------------------------------------

    def workflow_files(self) -> list[Path]:
        """Return the workflow files (``*.yml``, ``*.yaml``) of the workflows folder.

        The project file itself and other ``*.cws.yml`` files are left out; the list is
        sorted by file name.
        """
        if not self.workflows_dir.is_dir():
            return []
        files = [
            path
            for pattern in ("*.yml", "*.yaml")
            for path in self.workflows_dir.glob(pattern)
            if path.is_file() and not path.name.endswith(".cws.yml")
        ]

        return sorted(files, key=lambda p: p.name)


class _TargetError(Exception):
    """A service's ``module:attribute`` is wrong; carries the problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


#: AWS's limit on the length of a Lambda function name.
MAX_FUNCTION_NAME = 64


def _long_function_names(
    document: Document, targets: dict[str, str], stages: dict[str, Stage]
) -> list[Problem]:
    project = document.data["name"]
    stage_names = sorted({DEFAULT_STAGE, *stages}, key=len)
    longest = stage_names[-1]
    problems = []
    for service in targets:
        function = f"{project}-{service}-{longest}"
        if len(function) > MAX_FUNCTION_NAME:
            problems.append(
                document.problem(
                    ("services", service),
                    f"The Lambda function name '{function}' has {len(function)} "
                    f"characters, above AWS's limit of {MAX_FUNCTION_NAME}.",
                    hint="shorten the project, service or stage name.",
                    code="long-function-name",
                )
            )

    return problems


def _stage(name: str, settings: dict[str, Any]) -> Stage:
    environment = {
        key: _env_text(value)
        for key, value in (settings.get("environment") or {}).items()
    }

    return Stage(
        name=name,
        region=settings.get("region", LOCAL_REGION),
        account=settings.get("account", LOCAL_ACCOUNT),
        engine=settings.get("engine", "embedded"),
        endpoint_url=settings.get("endpoint_url"),
        environment=environment,
    )


def _env_text(value: Any) -> str:
    # YAML reads `DEBUG: true` as a boolean; the environment holds text, as on Lambda.
    if isinstance(value, bool):
        return "true" if value else "false"

    return str(value)
