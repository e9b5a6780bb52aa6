from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def browser(request):
    """The lake browser."""
    return render(request, "lake/browser.html", {})
