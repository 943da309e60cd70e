"""CoWorks: serverless microservices on AWS.

Technical microservices are Python classes on Chalice; business microservices are YAML
workflows compiled to Amazon States Language and run on AWS Step Functions, or on the
embedded engine on one machine.
"""

from __future__ import annotations

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

__version__ = "1.0.0.dev0"

__all__ = [
    "BadRequestError",
    "ConfigError",
    "CoworksError",
    "DeployError",
    "EngineError",
    "ForbiddenError",
    "HTTPError",
    "NotFoundError",
    "Problem",
    "ProblemsError",
    "UnauthorizedError",
    "__version__",
]
