from django.urls import path

from accounts import api

app_name = "accounts"
urlpatterns = [
    path("me/", api.MeView.as_view(), name="me"),
    path("me/groups/", api.MyGroupsView.as_view(), name="my-groups"),
    path("me/groups/<id:group_id>/", api.MyGroupView.as_view(), name="my-group"),
    path("me/identity/", api.IdentityVerificationView.as_view(), name="my-identity"),
]
