from django.contrib import admin
from django.urls import include, path

from core.apis import DocsPage, SchemaApi, WhoAmIApi
from core.routing import api_path
from core.views import favicon, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/", healthz),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    # REST API (DESIGN.md fixes these prefixes).
    path("api/schema/", SchemaApi.as_view(), name="schema"),
    path("api/docs/", DocsPage.as_view(url_name="schema"), name="api-docs"),
    *api_path("api/whoami", WhoAmIApi.as_view(), "whoami"),
    path("api/data/lake/", include("lake.urls")),
    path("api/data/warehouse/", include("warehouse.urls")),
    path("api/data/quality/", include("quality.urls")),
    path("api/pipelines/", include("pipelines.urls")),
    # Pages.
    path("lake/", include("lake.page_urls")),
    path("quality/", include("quality.page_urls")),
    path("suspicious/", include("warehouse.page_urls")),
    path("", include("pipelines.page_urls")),
]

handler400 = "core.api.json_400_or_page"
handler404 = "core.api.json_404_or_page"
handler500 = "core.api.json_500_or_page"
