"""The admin app, on the officials' site (accounts/officials_site.py) instead of Django's own.

A module of its own: INSTALLED_APPS imports it before any model exists, so it imports no admin.
"""

from django.contrib.admin.apps import AdminConfig


class OfficialsAdminConfig(AdminConfig):
    default_site = "accounts.officials_site.OfficialsAdminSite"
