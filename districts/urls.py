from django.urls import path

from core.offload import offloaded
from districts import api

app_name = "districts"
urlpatterns = [
    path("districts/", offloaded(api.DistrictListView.as_view()), name="district-list"),
    path(
        "districts/<str:code>/", offloaded(api.DistrictDetailView.as_view()), name="district-detail"
    ),
    path("groups/", offloaded(api.GroupListView.as_view()), name="group-list"),
]
