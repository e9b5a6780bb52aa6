from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def home(request):
    """The pipelines page (the home page)."""
    return render(request, "pipelines/home.html", {})
