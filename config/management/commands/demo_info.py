"""Prints where to go once `make run` has started the server."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import officials_mfa
from config.management.commands.seed_demo import DEMO_OFFICIAL


class Command(BaseCommand):
    help = (
        "Print the admin and API docs URLs and the demo official's credentials; with --code, "
        "the demo official's current two-factor code (DEBUG only)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument(
            "--code",
            action="store_true",
            help="Print only the demo official's current TOTP code (the admin asks for it).",
        )

    def _demo_secret(self) -> str | None:
        # The secret unlocks an official's second factor: printed for the demo only.
        if not settings.DEBUG:
            return None
        official = get_user_model().objects.filter(username=DEMO_OFFICIAL["username"]).first()
        return officials_mfa.demo_secret(user=official) if official else None

    def handle(self, *args, host: str, port: str, code: bool = False, **options) -> None:
        secret = self._demo_secret()
        if code:
            if secret is None:
                raise CommandError("no demo official with an authenticator (DEBUG off?)")
            self.stdout.write(officials_mfa.current_code(secret=secret))
            return
        base = f"http://{host}:{port}"
        lines = [
            "",
            "mVoting is starting (daphne: HTTP + WebSocket)",
            f"  admin        {base}/admin/   user: {DEMO_OFFICIAL['username']}"
            f"  password: {DEMO_OFFICIAL['password']}",
        ]
        if secret is not None:
            lines += [
                "               then a two-factor code: `.venv/bin/python manage.py demo_info"
                " --code`",
                f"               (or add the key {secret} to an authenticator app)",
            ]
        lines += [
            f"  API docs     {base}/api/docs/   (Redoc: {base}/api/redoc/)",
            f"  auth API     {base}/_allauth/openapi.html",
            f"  health       {base}/healthz",
            "  SMS codes are printed below as lines starting with 'SMS'.",
            "",
        ]
        self.stdout.write("\n".join(lines))
