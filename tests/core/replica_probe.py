"""A child process of tests/core/test_replica.py: acts on the primary and replica named in its environment.

python -m tests.core.replica_probe write N   -> loads quote N of RELIANCE (an hour ago + N seconds)
python -m tests.core.replica_probe read      -> prints JSON: rows seen by the API, the selector, a pinned
                                                read, and how many queries the replica answered
"""

import json
import os
import sys
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.db import primary_pinned  # noqa: E402
from warehouse.services import stock_rows_load, warehouse  # noqa: E402


def write(n: int) -> None:
    at = timezone.now() - timedelta(hours=1) + timedelta(seconds=n)
    result = stock_rows_load(records=[{"ticker": "RELIANCE", "source": "nse_api", "timestamp": at, "price": 2500 + n}])
    get_user_model().objects.get_or_create(username="replica-probe")
    print(json.dumps({"inserted": result.inserted}))


def read() -> None:
    served = []

    def count(execute, sql, params, many, context):
        served.append(context["connection"].alias)
        return execute(sql, params, many, context)

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username="replica-probe"))
    with connections["replica"].execute_wrapper(count):
        response = client.get("/api/data/warehouse/historical/RELIANCE?days=1")
        api = len(response.json()["results"]) if response.status_code == 200 else response.status_code
        selector = len(warehouse.get_historical_stock_data("RELIANCE", days=1))
        with primary_pinned():
            pinned = len(warehouse.get_historical_stock_data("RELIANCE", days=1))
    print(json.dumps({"api": api, "selector": selector, "pinned": pinned, "replica_queries": served.count("replica")}))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(int(sys.argv[2]))
    else:
        read()
