"""Connector state between runs (Twitter ``since_id``, Telegram ``offset``), one row per source and key."""

from __future__ import annotations

from core.errors import echo, echo_json, whole_number
from pipelines.connectors.base import ConnectorError
from pipelines.models import ConnectorState


def connector_state_get(source: str, *, key: str = "default") -> dict:
    """The saved state of ``source`` (an empty dict when there is none yet); a ConnectorError, in one line,
    when it is none the connector could have written (edited past admin's check)."""
    row = ConnectorState.objects.filter(source=source, key=key).values_list("value", flat=True).first()
    problems = connector_state_problems(source, row or {})
    if problems:
        said = "; ".join(message for messages in problems.values() for message in messages)
        raise ConnectorError(
            f"{source}: the state saved in admin (Connector states) cannot be resumed from ({said}): fix or delete it"
        )
    return dict(row or {})


def connector_state_set(source: str, value: dict, *, key: str = "default") -> None:
    """Save ``value`` as the state of ``source``: call it once the batch carrying it is in the lake."""
    ConnectorState.objects.update_or_create(source=source, key=key, defaults={"value": value})


def tweet_id_valid(value) -> bool:
    """Whether ``value`` can be an X tweet id (``since_id``): digits, as X writes them, or a whole number."""
    return whole_number(value, least=1) or (isinstance(value, str) and value.isascii() and value.isdigit())


def _twitter_problems(value: dict) -> list[str]:
    since = value.get("since_id", {})
    if not isinstance(since, dict):
        return [
            f'since_id: an object of search query to the newest tweet id seen, e.g. {{"$TCS": "1790…"}}; got {echo_json(since)}'
        ]
    return [
        f"since_id of {echo(query)}: a tweet id (digits); got {echo_json(tweet)}"
        for query, tweet in since.items()
        if not tweet_id_valid(tweet)
    ]


def _telegram_problems(value: dict) -> list[str]:
    problems = []
    if "offset" in value and not whole_number(value["offset"]):
        problems.append(f"offset: a whole number (the last update_id + 1); got {echo_json(value['offset'])}")
    preview = value.get("preview", {})
    if not isinstance(preview, dict):
        problems.append(
            f'preview: an object of channel to the newest post id stored, e.g. {{"nseupdates": 1234}}; got {echo_json(preview)}'
        )
    else:
        problems += [
            f"preview of {echo(channel)}: a post id (a whole number); got {echo_json(post)}"
            for channel, post in preview.items()
            if not whole_number(post, least=0)
        ]
    return problems


# What the connectors that keep a state keep between runs (their modules say how they use it). The NSE
# connectors keep none: a state there is ignored, so any object goes.
STATE_KEYS = {"twitter": ("since_id",), "telegram": ("offset", "preview")}
_STATE_CHECKS = {"twitter": _twitter_problems, "telegram": _telegram_problems}


def connector_state_problems(source: str, value) -> dict[str, list[str]]:
    """What is wrong with a state as an admin wrote it (by field: ``source``, ``value``); empty when the
    connector can resume from it. A state no connector wrote would otherwise fail the next run with a Python
    error from inside the connector (``dict("abc")``), or be sent upstream as it is."""
    from pipelines.connectors import SOURCES

    if source not in SOURCES:
        return {"source": [f"no connector is called {echo(source)}; expected one of {', '.join(SOURCES)}"]}
    if not isinstance(value, dict):
        return {"value": [f"an object, e.g. {{}} to start afresh; got {echo_json(value)}"]}
    if source not in STATE_KEYS:
        return {}
    keys = STATE_KEYS[source]
    problems = [
        f"{echo(name)} is nothing {source} keeps (it keeps {', '.join(keys)})" for name in value if name not in keys
    ]
    problems += _STATE_CHECKS[source](value)
    return {"value": problems} if problems else {}
