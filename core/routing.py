"""URL helpers: DESIGN.md's API paths answer with and without a trailing slash."""

from django.urls import path


def api_path(route: str, view, name: str):
    """Two patterns for one route: ``route`` and ``route/`` (the bare one keeps the name)."""
    route = route.rstrip("/")
    if not route:
        return [path("", view, name=name)]
    return [path(route, view, name=name), path(route + "/", view)]
