"""Settings of the bare-Django ceiling (``ceilings.bare``): Django and nothing of the product.

No middleware, no installed apps, no database, no authentication: one view answering
``{"ok": true}`` to a POST (``bench/bare_urls.py``), served by a second HTTP server with the same
kind, workers and flags as the product's (``bench/bare_app.py``). What the authenticated no-op costs
beyond this is the product's own per-request path (middleware, DRF, authentication, throttles).
"""

SECRET_KEY = "bench-bare-secret-key-not-for-production-" + "x" * 20
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.bare_urls"
DATABASES: dict = {}
USE_TZ = True
USE_I18N = False
LOGGING_CONFIG = None
