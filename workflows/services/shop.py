"""The shop: the technical microservice the sample workflows call.

It keeps its state in memory, enough for the samples: a stock, reservations, prices,
a warehouse that fails on purpose (to show retries), and a mailbox consuming the
``notifications`` queue.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from coworks.errors import HTTPError, NotFoundError, UnauthorizedError
from coworks.tech import TechMicroService

#: The token the sample project accepts (``cws -p workflows run`` prints it).
DEFAULT_TOKEN = "sample-token"


class ServiceUnavailableError(HTTPError):
    status_code = 503
    error = "ServiceUnavailable"


class ShopService(TechMicroService):
    """Stock, prices, reservations, a flaky warehouse and a mailbox."""

    #: Queues whose messages ``cws run`` delivers to :meth:`on_message`.
    queues = ("notifications",)

    def __init__(self, name: str = "shop") -> None:
        super().__init__(name)
        self.stock = {"apple": 5, "pear": 0, "plum": 12}
        self.prices = {"apple": 1.5, "pear": 2.0, "plum": 0.5}
        self.reservations: list[dict[str, Any]] = []
        self.mailbox: list[Any] = []
        self.failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def auth(self, request: Any) -> bool:
        """Let in the token 'sample-token' (or the stage's SAMPLE_TOKEN variable)."""
        if request.token != os.environ.get("SAMPLE_TOKEN", DEFAULT_TOKEN):
            raise UnauthorizedError("The token is not the sample project's.")
        return True

    def get_stock(self, item: str) -> dict[str, Any]:
        """Return how many of an item are in stock."""
        if item not in self.stock:
            raise NotFoundError(f"The shop does not sell {item!r}.")
        return {"item": item, "quantity": self.stock[item]}

    def get_price(self, item: str) -> dict[str, Any]:
        """Return the unit price of an item."""
        if item not in self.prices:
            raise NotFoundError(f"The shop does not sell {item!r}.")
        return {"item": item, "price": self.prices[item]}

    def post_reserve(self, *, item: str, quantity: int = 1) -> dict[str, Any]:
        """Reserve items; 404 when there are not enough."""
        with self._lock:
            if self.stock.get(item, 0) < quantity:
                raise NotFoundError(f"Not enough {item!r} to reserve {quantity}.")
            self.stock[item] -= quantity
            reservation = {"id": len(self.reservations) + 1, "item": item}
            reservation["quantity"] = quantity
            self.reservations.append(reservation)
        return reservation

    def post_backorder(self, *, item: str, quantity: int = 1) -> dict[str, Any]:
        """Record an order to fill when the item is back in stock."""
        return {"item": item, "quantity": quantity, "backorder": True}

    def get_warehouse(self, key: str, failures: int = 2) -> dict[str, Any]:
        """Answer 503 the first ``failures`` times a key is asked, then succeed."""
        with self._lock:
            seen = self.failures.get(key, 0)
            self.failures[key] = seen + 1
        if seen < failures:
            raise ServiceUnavailableError(
                f"The warehouse is busy (attempt {seen + 1})."
            )
        return {"key": key, "attempts": seen + 1}

    def get_mailbox(self) -> list[Any]:
        """Return the notifications received from the queue."""
        return list(self.mailbox)

    def on_message(self, message: Any) -> None:
        """Keep each notification of the ``notifications`` queue."""
        self.mailbox.append(message.body)


app = ShopService()
