from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def browser(request):
    """The lake browser: a static shell; static/lake/browser.js reads the lake API and renders as text."""
    return render(request, "lake/browser.html", {"retention_days": settings.LAKE_RETENTION_DAYS})
