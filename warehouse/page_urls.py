"""Page routes of this app."""

urlpatterns = []
