"""The product's routes plus the benchmark's baselines (bench/views.py), for bench.settings."""

from django.urls import path

from bench import views as bench_views
from config.urls import urlpatterns as product_urlpatterns
from core.offload import offloaded

# Served exactly as the product's API views are (core/offload.py): same layout, fair baseline.
urlpatterns = [
    *product_urlpatterns,
    path(
        "bench/drf/ballots/",
        offloaded(bench_views.BenchBallotCreateView.as_view()),
        name="bench-drf",
    ),
    path("bench/noop/", offloaded(bench_views.NoopView.as_view()), name="bench-noop"),
]

handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"
