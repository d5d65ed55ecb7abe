"""Prints where to go once `make run` has started the server."""

from django.core.management.base import BaseCommand

from config.management.commands.seed_demo import DEMO_OFFICIAL


class Command(BaseCommand):
    help = "Print the admin and API docs URLs and the demo official's credentials."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, host: str, port: str, **options) -> None:
        base = f"http://{host}:{port}"
        lines = [
            "",
            "mVoting is starting (daphne: HTTP + WebSocket)",
            f"  admin        {base}/admin/   user: {DEMO_OFFICIAL['username']}"
            f"  password: {DEMO_OFFICIAL['password']}",
            f"  API docs     {base}/api/docs/   (Redoc: {base}/api/redoc/)",
            f"  auth API     {base}/_allauth/openapi.html",
            f"  health       {base}/healthz",
            "  SMS codes are printed below as lines starting with 'SMS'.",
            "",
        ]
        self.stdout.write("\n".join(lines))
