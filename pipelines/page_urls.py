"""Page routes of the pipelines app: the home page."""

from django.urls import path

from . import views

urlpatterns = [path("", views.home, name="home")]
