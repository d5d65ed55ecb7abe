"""allauth adapters: citizens sign up and log in with their phone number and a texted code."""

import logging
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context, ratelimit
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.headless.adapter import DefaultHeadlessAdapter
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import sms_budget
from accounts.headless_errors import rate_limited_response
from accounts.models import Verification
from accounts.phone import mask_phone
from accounts.profile_history import carry_over
from accounts.signals import citizen_changed
from accounts.sms import SMSError, send_sms
from core.client_ip import client_ip
from core.errors import json_error
from core.phone import normalize_phone
from districts.services import claim_pending_memberships

logger = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    # --- Phone input -----------------------------------------------------------------------

    def phone_form_field(self, **kwargs: Any) -> forms.Field:
        # allauth's field checks the E.164 pattern before clean_phone() sees the value, which
        # would refuse the domestic "010-1234-5678" citizens type; clean_phone() validates.
        kwargs.setdefault("validators", [])
        return super().phone_form_field(**kwargs)

    def clean_phone(self, phone: str) -> str:
        """Normalise to E.164 (region KR); an invalid or non-mobile number is a 400."""
        phone = normalize_phone(phone)
        request = context.request
        # Sign-up texts a code under the "verify_phone" limit, but allauth does not catch that
        # limit's RateLimited there: it would be a 500 (e.g. a second attempt within 30 s).
        # Check it here, while a 429 can still be answered. The check is the same for new and
        # registered numbers, so it reveals nothing.
        if _is_headless_signup(request):
            if not ratelimit.consume(request, action="verify_phone", key=phone, dry_run=True):
                raise ImmediateHttpResponse(rate_limited_response(request))
            # Sign-up writes the account before it texts, and swallows any refusal raised
            # while texting (the citizen would get a pending flow and no code): the SMS budget
            # is asked now. Registered and new numbers both get a text, so both are asked alike.
            try:
                sms_budget.check(phone=phone, ip=client_ip(request))
            except sms_budget.SMSBudgetRefused as refusal:
                raise ImmediateHttpResponse(budget_refusal_response(request, refusal)) from None
        return phone

    def validation_error(self, code: str, *args: Any) -> ValidationError:
        if code in ("too_many_login_attempts", "rate_limited"):
            # allauth reports an exhausted code-request (or second-factor) limit as a 400 form
            # error; answer it as the 429 every other rate limit gives, with its Retry-After,
            # so the app handles "slow down" once.
            raise ImmediateHttpResponse(rate_limited_response(context.request))
        return super().validation_error(code, *args)

    # --- Saving a new citizen ---------------------------------------------------------------

    def save_user(self, request: HttpRequest, user: AbstractBaseUser, form, commit: bool = True):
        """Save the new account; lose a same-instant race for the number with a 429, not a 500.

        Two sign-ups for one new number can both pass allauth's "is it taken?" check and its
        per-number limit (which counts only once a code is sent); the unique index then refuses
        the second. Its answer is the one the limit gives a second attempt within 30 s, so it
        reveals nothing the first request did not.
        """
        try:
            with transaction.atomic():
                return super().save_user(request, user, form, commit=commit)
        except IntegrityError as exc:
            if "phone" not in str(exc):
                raise
            raise ImmediateHttpResponse(rate_limited_response(request)) from exc

    # --- Phone storage ---------------------------------------------------------------------

    def get_phone(self, user: AbstractBaseUser) -> tuple[str, bool] | None:
        if not user.phone:
            return None
        return user.phone, user.phone_verified

    def set_phone(self, user: AbstractBaseUser, phone: str, verified: bool) -> None:
        user.phone = phone
        user.phone_verified = verified
        if verified:
            self._mark_phone_verified(user)
        elif user.pk:
            user.save(update_fields=["phone", "phone_verified"])

    def set_phone_verified(self, user: AbstractBaseUser, phone: str) -> None:
        previous = None
        if user.pk:
            # The number on record, not the instance's (allauth may have set it already).
            previous = (
                get_user_model()
                ._default_manager.filter(pk=user.pk)
                .values_list("phone", flat=True)
                .first()
            )
        user.phone = phone
        user.phone_verified = True
        self._mark_phone_verified(user, previous_phone=previous if previous != phone else None)

    @transaction.atomic
    def _mark_phone_verified(
        self, user: AbstractBaseUser, *, previous_phone: str | None = None
    ) -> None:
        fields = ["phone", "phone_verified"]
        # A verified phone is the PHONE level; never lower a resident-verified citizen.
        if user.verification < Verification.PHONE:
            user.verification = Verification.PHONE
            fields.append("verification")
        if previous_phone and user.verification > Verification.PHONE:
            # Resident verification vouched for the person holding the old number (the
            # identity providers check the carrier's subscriber): the new one is verified anew.
            user.verification = Verification.PHONE
            fields.append("verification")
        if user.pk:
            user.save(update_fields=fields)
        else:
            user.save()
        if previous_phone:
            self._phone_changed(user, previous_phone)
        # Only now has the holder of the number proved it: the places kept for it are theirs.
        claim_pending_memberships(user=user)

    def _phone_changed(self, user: AbstractBaseUser, previous_phone: str) -> None:
        """The citizen proved a new number by SMS (the only way a number changes: officials
        cannot). The cooldown clocks follow the citizen; the audit log and the old number hear
        of it, so a thief who holds a session and moves the account to their SIM is noticed."""
        carry_over(old_phone=previous_phone, new_phone=user.phone)
        citizen_changed.send(
            sender=type(user),
            actor=None,
            citizen_id=user.pk,
            action="change_phone",
            changes={"phone": [mask_phone(previous_phone), mask_phone(user.phone)]},
        )
        body = _(
            "[%(sender)s] The phone number of your account was changed to %(masked)s. If it "
            "was not you, call the 120 Dasan call centre."
        ) % {"sender": settings.SMS_SENDER, "masked": mask_phone(user.phone)}
        transaction.on_commit(lambda: self._send_sms(previous_phone, body, notice=True))

    def get_user_by_phone(self, phone: str) -> AbstractBaseUser | None:
        try:
            phone = normalize_phone(phone)
        except ValidationError:
            return None
        return get_user_model()._default_manager.filter(phone=phone).first()

    # --- Text messages ---------------------------------------------------------------------

    def send_verification_code_sms(
        self, user: AbstractBaseUser, phone: str, code: str, **kwargs: Any
    ) -> None:
        # The same text serves sign-up verification and code login, so it promises the shorter
        # of the two lifetimes.
        seconds = min(
            account_settings.PHONE_VERIFICATION_TIMEOUT, account_settings.LOGIN_BY_CODE_TIMEOUT
        )
        minutes = max(1, seconds // 60)
        body = ngettext(
            "[%(sender)s] Verification code %(code)s (enter it within %(minutes)d minute)",
            "[%(sender)s] Verification code %(code)s (enter it within %(minutes)d minutes)",
            minutes,
        ) % {"sender": settings.SMS_SENDER, "code": code, "minutes": minutes}
        self._send_sms(phone, body)

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        body = _(
            "[%(sender)s] Someone asked for a login code for this number, but no account "
            "uses it. To take part, sign up in the app. If it was not you, ignore this message."
        ) % {"sender": settings.SMS_SENDER}
        self._send_sms(phone, body)

    def send_account_already_exists_sms(self, phone: str) -> None:
        body = _(
            "[%(sender)s] Someone tried to sign up with this number, which already has an "
            "account. To log in, ask for a login code in the app. If it was not you, ignore "
            "this message."
        ) % {"sender": settings.SMS_SENDER}
        self._send_sms(phone, body)

    # --- The SMS budget: one choke point ---------------------------------------------------

    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's rate limits read the address here: the project's one rule (trusted proxies).
        return client_ip(request)

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        # allauth reports "a text was sent" here for every number, also when it sends nothing
        # to keep an unregistered number from being revealed (a resend for an unknown number).
        # Charging the budget here too keeps the counters, and so the answers, identical for
        # registered and unregistered numbers; a text already charged is not charged twice.
        phone = (message_context or {}).get("phone")
        if message_template in _SENT_TEMPLATES and phone:
            self._charge_sms(phone)
        super().add_message(request, level, message_template, message_context, *args, **kwargs)

    def _charge_sms(self, phone: str, *, notice: bool = False) -> bool:
        """Count one text to ``phone`` against the SMS budget; True if it may be sent.

        A refused text a citizen asked for ends the request: 429 (this number or address) or
        503 (the city's hourly budget is spent, or the budget cannot be checked). A notice
        (e.g. "your number was changed") is not the answer to a request of the recipient's:
        it passes the per-number and per-address limits, and when the global budget is spent
        or cannot be checked it is withheld and logged (the change itself stands).
        """
        request = context.request
        charged: set[str] = getattr(request, "_sms_budget_charged", set())
        if phone in charged:
            return True
        try:
            sms_budget.charge(phone=phone, ip=client_ip(request) if request else None)
        except sms_budget.SMSBudgetRefused as refusal:
            if notice and refusal.status == 429:
                # One notice per verified change, each after a metered code: not a way to
                # farm texts. Withholding it because someone exhausted the old number's budget
                # first would hide a hijack from its victim.
                return True
            if notice or request is None:
                logger.error("SMS withheld, budget refused it: %s", refusal.scope)
                return False
            raise ImmediateHttpResponse(budget_refusal_response(request, refusal)) from None
        if request is not None:
            charged.add(phone)
            request._sms_budget_charged = charged
        return True

    def _send_sms(self, phone: str, body: str, *, notice: bool = False) -> None:
        if not self._charge_sms(phone, notice=notice):
            return
        try:
            send_sms(phone, body)
        except SMSError:
            # Not raised on: a failure only for the texts sent to existing accounts would
            # answer differently for them and reveal which numbers are registered. The app
            # offers "resend"; the operators see this line.
            logger.exception("SMS delivery failed")


# allauth's "a code was sent" messages (phone verification and login by code).
_SENT_TEMPLATES = frozenset(
    {"account/messages/phone_verification_sent.txt", "account/messages/login_code_sent.txt"}
)


def budget_refusal_response(
    request: HttpRequest, refusal: sms_budget.SMSBudgetRefused
) -> HttpResponse:
    """429 as allauth's own limits answer it for a number or an address ("slow down"), 503 when
    no text can be sent at all; accounts/headless_errors.py gives both the one error shape.
    Both say when to retry. Nothing in either depends on whether the number has an account."""
    if refusal.status == 429:
        response: HttpResponse = ratelimit.respond_429(request)
    else:
        response = json_error(
            "service_unavailable",
            _("Text messages cannot be sent right now. Please try again later."),
            503,
        )
    response["Retry-After"] = str(refusal.retry_after)
    return response


def _is_headless_signup(request: HttpRequest | None) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(match and match.url_name == "signup" and "headless" in match.namespaces)


class HeadlessAdapter(DefaultHeadlessAdapter):
    pass
