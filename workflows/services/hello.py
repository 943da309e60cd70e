"""A tiny technical microservice: greetings and an echo."""

from __future__ import annotations

import os
from typing import Any

from coworks.tech import TechMicroService


class HelloService(TechMicroService):
    """Says hello; the greeting comes from the stage's GREETING variable."""

    def get(self) -> str:
        """Return a greeting to the world."""
        return f"{os.environ.get('GREETING', 'Hello')}, world!"

    def get_greet(self, name: str, punctuation: str = "!") -> dict[str, str]:
        """Greet someone by name: ``GET /greet/{name}?punctuation=?``."""
        greeting = os.environ.get("GREETING", "Hello")
        return {"message": f"{greeting}, {name}{punctuation}"}

    def post_echo(self, **payload: Any) -> dict[str, Any]:
        """Answer the JSON object posted."""
        return payload


app = HelloService("hello")
