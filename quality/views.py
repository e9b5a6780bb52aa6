from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def dashboard(request):
    """The data quality dashboard."""
    return render(request, "quality/dashboard.html", {})
