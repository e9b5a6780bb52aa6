"""Page routes of this app (mounted at /suspicious/)."""

from django.urls import path

from . import views

urlpatterns = [path("", views.suspicious, name="suspicious-tickers")]
