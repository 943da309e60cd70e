"""Time of one in-process request through ``coworks.local.invoke``.

``invoke`` is what the test client and ``cws run`` call for every request: route
matching, the API Gateway proxy event, the Lambda handler, argument binding and the
JSON answer. This script builds a small service (a static GET route and a route with a
typed path parameter and a query parameter), warms each route up, then times batches
of requests with ``time.perf_counter`` and reports the median time per request over
the batches, so a noisy moment of the shared machine moves one batch, not the figure.

Run: ``python benchmarks/local_invoke.py [--requests 20000] [--batches 9]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from coworks import TechMicroService
from coworks.local import invoke


class Bench(TechMicroService):
    def get_hello(self) -> dict[str, str]:
        return {"hello": "world"}

    def get_item(self, id: int, lang: str = "en") -> dict[str, Any]:
        return {"id": id, "lang": lang}


def per_request(service: Bench, path: str, query: Any, count: int) -> float:
    """Return the seconds per request of ``count`` requests to ``path``."""
    headers = {"Host": "127.0.0.1", "Accept": "*/*", "User-Agent": "bench"}
    started = time.perf_counter()
    for _ in range(count):
        invoke(service, "GET", path, headers=headers, query=query)
    return (time.perf_counter() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--batches", type=int, default=9)
    args = parser.parse_args()

    service = Bench("bench")
    cases = [("/hello", None), ("/item/42", {"lang": ["fr"]})]
    for path, query in cases:
        per_request(service, path, query, 1000)
        size = max(1, args.requests // args.batches)
        samples = [per_request(service, path, query, size) for _ in range(args.batches)]
        median = statistics.median(samples) * 1e6
        print(
            f"GET {path:<10} median {median:6.1f} us/request ({args.batches} x {size})"
        )


if __name__ == "__main__":
    main()
