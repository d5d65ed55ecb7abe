"""Routes of the benchmark's baselines (``config/bench_views.py``), only with BENCH_ENDPOINTS."""

from django.urls import path

from config import bench_views

urlpatterns = [
    path("bench/drf/ballots/", bench_views.BenchBallotCreateView.as_view(), name="bench-drf"),
    path("bench/noop/", bench_views.NoopView.as_view(), name="bench-noop"),
]
