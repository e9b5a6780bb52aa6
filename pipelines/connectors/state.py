"""Connector state between runs (Twitter ``since_id``, Telegram ``offset``), one row per source and key."""

from __future__ import annotations

from pipelines.models import ConnectorState


def connector_state_get(source: str, *, key: str = "default") -> dict:
    """The saved state of ``source`` (an empty dict when there is none yet)."""
    row = ConnectorState.objects.filter(source=source, key=key).values_list("value", flat=True).first()
    return dict(row or {})


def connector_state_set(source: str, value: dict, *, key: str = "default") -> None:
    """Save ``value`` as the state of ``source``: call it once the batch carrying it is in the lake."""
    ConnectorState.objects.update_or_create(source=source, key=key, defaults={"value": value})
