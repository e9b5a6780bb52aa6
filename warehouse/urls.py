"""API routes of this app (mounted by config/urls.py; see DESIGN.md)."""

urlpatterns = []
