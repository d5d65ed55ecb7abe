# Load Celery with Django, so `@shared_task`s bind to this project's app (and its settings).
from config.celery import app as celery_app

__all__ = ("celery_app",)
