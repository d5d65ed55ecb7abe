"""WSGI entry point: the HTTP API under a pre-forking WSGI server (docs/performance.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Each WSGI worker process serves one request at a time on its own thread: views run inline.
os.environ["API_WORKER_THREADS"] = "0"
application = get_wsgi_application()
