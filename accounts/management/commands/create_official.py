"""Create the first city official, with the second factor enrolled (accounts/bootstrap.py).

The password is typed at a prompt (twice) or read from ``OFFICIAL_PASSWORD``, never from the
command line, where it would stay in the shell's history and in every process listing.
"""

import getpass
import os
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import bootstrap

PASSWORD_VARIABLE = "OFFICIAL_PASSWORD"  # noqa: S105 (the variable's name)


class Command(BaseCommand):
    help = (
        "Create a city-wide official (staff, in the officials' role) with an authenticator app "
        f"enrolled. The password is asked for, or read from {PASSWORD_VARIABLE}. Refuses an "
        "existing username or email."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", required=True, help="for password resets")
        parser.add_argument("--name", default="", help="the name shown in the admin")
        parser.add_argument(
            "--superuser",
            action="store_true",
            help="also an operator: creates the other officials and resets lost authenticators",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = self._password()
        try:
            user, enrolment = bootstrap.create_official(
                username=options["username"],
                email=options["email"],
                password=password,
                display_name=options["name"],
                superuser=options["superuser"],
            )
        except bootstrap.AccountExists:
            raise CommandError(
                f"an account named {options['username']!r} or with that email exists already; "
                "nothing was changed"
            ) from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        role = "superuser and city-wide official" if user.is_superuser else "city-wide official"
        out = self.stdout
        out.write(f"Created {user.username} ({role}).")
        out.write("")
        out.write(
            "Shown this once and never again: hand it to the official, then clear the screen."
        )
        out.write("Authenticator app: scan this URI as a QR code, or type the secret.")
        out.write(f"  URI:    {enrolment.url}")
        out.write(f"  secret: {enrolment.secret}")
        out.write("Recovery codes (each works once, for a lost phone):")
        for code in enrolment.recovery_codes:
            out.write(f"  {code}")
        out.write("")
        out.write("Sign in at /admin/ with the password and a code from the app.")

    def _password(self) -> str:
        from_environment = os.environ.get(PASSWORD_VARIABLE)
        if from_environment:
            return from_environment
        if not sys.stdin.isatty():
            raise CommandError(
                f"no terminal to ask for the password: set {PASSWORD_VARIABLE} "
                "(never pass a password on the command line)"
            )
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("the passwords differ; nothing was changed")
        if not password:
            raise CommandError("an empty password; nothing was changed")
        return password
