from allauth.account.adapter import DefaultAccountAdapter
from allauth.headless.adapter import DefaultHeadlessAdapter


class AccountAdapter(DefaultAccountAdapter):
    pass


class HeadlessAdapter(DefaultHeadlessAdapter):
    pass
