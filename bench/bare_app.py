"""Entry points of the bare-Django ceiling's server: ``bench.bare_app:wsgi`` (gunicorn, granian)
and ``bench.bare_app:asgi`` (uvicorn, daphne). Django's own handlers, nothing else."""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bare_settings"

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

wsgi = get_wsgi_application()
asgi = get_asgi_application()
