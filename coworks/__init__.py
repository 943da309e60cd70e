"""CoWorks: serverless microservices on AWS.

Technical microservices are Python classes on Chalice; business microservices are YAML
workflows compiled to Amazon States Language and run on AWS Step Functions, or on the
embedded engine on one machine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coworks.auth import AuthRequest, AuthResponse
    from coworks.biz.backend import (
        Backend,
        EmbeddedBackend,
        StepFunctionsBackend,
    )
    from coworks.biz.linter import lint
    from coworks.biz.service import BizMicroService
    from coworks.errors import (
        BadRequestError,
        ConfigError,
        CoworksError,
        DeployError,
        EngineError,
        ForbiddenError,
        HTTPError,
        NotFoundError,
        UnauthorizedError,
    )
    from coworks.problems import Problem, ProblemsError
    from coworks.tech import Blueprint, TechMicroService, entry, tech_error

__version__ = "1.0.0.dev0"

#: Public names loaded on first use: a Lambda's cold start imports only what its
#: service needs (no Chalice for workflows and the CLI, no dataclasses for services,
#: no error tree until an error is raised).
_LAZY = {
    "BadRequestError": "coworks.errors",
    "ConfigError": "coworks.errors",
    "CoworksError": "coworks.errors",
    "DeployError": "coworks.errors",
    "EngineError": "coworks.errors",
    "ForbiddenError": "coworks.errors",
    "HTTPError": "coworks.errors",
    "NotFoundError": "coworks.errors",
    "UnauthorizedError": "coworks.errors",
    "Problem": "coworks.problems",
    "ProblemsError": "coworks.problems",
    "AuthRequest": "coworks.auth",
    "AuthResponse": "coworks.auth",
    "Blueprint": "coworks.tech",
    "TechMicroService": "coworks.tech",
    "entry": "coworks.tech",
    "tech_error": "coworks.tech",
    "lint": "coworks.biz.linter",
    "Backend": "coworks.biz.backend",
    "BizMicroService": "coworks.biz.service",
    "EmbeddedBackend": "coworks.biz.backend",
    "StepFunctionsBackend": "coworks.biz.backend",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'coworks' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "AuthRequest",
    "AuthResponse",
    "BadRequestError",
    "Backend",
    "BizMicroService",
    "Blueprint",
    "ConfigError",
    "CoworksError",
    "DeployError",
    "EmbeddedBackend",
    "EngineError",
    "ForbiddenError",
    "HTTPError",
    "NotFoundError",
    "Problem",
    "ProblemsError",
    "StepFunctionsBackend",
    "TechMicroService",
    "UnauthorizedError",
    "__version__",
    "entry",
    "lint",
    "tech_error",
]
