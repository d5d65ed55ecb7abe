"""Routes of the benchmark's baselines (``config/bench_views.py``), only with BENCH_ENDPOINTS."""

from django.urls import path

from config import bench_views
from config.offload import offloaded

# Served exactly as the product's API views are (config/offload.py): same layout, fair baseline.
urlpatterns = [
    path(
        "bench/drf/ballots/",
        offloaded(bench_views.BenchBallotCreateView.as_view()),
        name="bench-drf",
    ),
    path("bench/noop/", offloaded(bench_views.NoopView.as_view()), name="bench-noop"),
]
