"""Page routes of the quality app: the dashboard."""

from django.urls import path

from . import views

urlpatterns = [path("", views.dashboard, name="quality-dashboard")]
