from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class UsernameOrEmailBackend(ModelBackend):
    """Officials log in to the admin with their username or their email, and a password."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs,
    ):
        if not username or password is None:
            return None
        User = get_user_model()
        field = "email__iexact" if "@" in username else "username"
        try:
            user = User._default_manager.get(**{field: username})
        except User.DoesNotExist:
            # Run the hasher anyway so timing does not tell which accounts exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
