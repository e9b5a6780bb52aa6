"""The /suspicious/ page: ticker-days ranked by pump score, with their evidence (data from the API)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def suspicious(request):
    """The ranked list itself is fetched by static/warehouse/suspicious.js from /api/data/warehouse/suspicious."""
    return render(request, "warehouse/suspicious.html", {})
