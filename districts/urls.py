from django.urls import path

from districts import api

app_name = "districts"
urlpatterns = [
    path("districts/", api.DistrictListView.as_view(), name="district-list"),
    path("districts/<str:code>/", api.DistrictDetailView.as_view(), name="district-detail"),
    path("groups/", api.GroupListView.as_view(), name="group-list"),
]
