from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
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
