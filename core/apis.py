from django.contrib.auth.views import redirect_to_login
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView


class WhoAmIApi(APIView):
    """Who the API thinks you are: lets a script check its token."""

    @extend_schema(
        responses=inline_serializer(
            "WhoAmI", {"username": serializers.CharField(), "is_staff": serializers.BooleanField()}
        )
    )
    def get(self, request):
        return Response({"username": request.user.get_username(), "is_staff": request.user.is_staff})


class SchemaApi(SpectacularAPIView):
    """The OpenAPI schema (YAML, or JSON on ``Accept: application/json``), for signed-in callers only;
    its errors are JSON ``{"detail": …}`` like every other API answer (not the schema's YAML)."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return response


class DocsPage(SpectacularSwaggerSplitView):
    """Swagger UI over ``SchemaApi``: a visitor who is not signed in is sent to the login page first."""

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated | AuthenticationFailed):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
