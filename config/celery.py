"""The Celery application: workers deliver the notification outbox
(docs/walkthroughs/participation.md, "Notifications") and run the periodic jobs of
``CELERY_BEAT_SCHEDULE``, found in each installed app's ``tasks.py``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mvoting")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
