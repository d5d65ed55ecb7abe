from django.urls import path

from accounts import api
from core.offload import offloaded

app_name = "accounts"
urlpatterns = [
    path("me/", offloaded(api.MeView.as_view()), name="me"),
    path("me/groups/", offloaded(api.MyGroupsView.as_view()), name="my-groups"),
    path("me/groups/<id:group_id>/", offloaded(api.MyGroupView.as_view()), name="my-group"),
    path("me/identity/", offloaded(api.IdentityVerificationView.as_view()), name="my-identity"),
]
