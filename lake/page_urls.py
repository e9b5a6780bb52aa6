"""Page routes of the lake app: the lake browser."""

from django.urls import path

from . import views

urlpatterns = [path("", views.browser, name="lake-browser")]
