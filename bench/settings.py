"""Settings of the benchmark's servers: the product's, plus the baselines' routes (bench/urls.py).

The product never imports this package (the import contract in ``.importlinter`` forbids it), so
the baselines — a second ballot writer among them — cannot be switched on in production by an
environment variable: only a server started with ``DJANGO_SETTINGS_MODULE=bench.settings`` has them.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The no-op baseline takes the product API's lane (config/middleware.py): measured as the API is.
LEAN_API_PREFIXES = [*LEAN_API_PREFIXES, "/bench/"]  # noqa: F405
