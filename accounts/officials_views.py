"""The admin's login for officials: the password, then a code (or the enrolment of an app).

Thin views over accounts/officials_auth.py and officials_mfa.py; the pages are the admin's own
login look.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, re_path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt

from accounts import officials_auth, officials_mfa
from accounts.headless_errors import retry_after_seconds
from accounts.officials_auth import State, TooManyAttempts
from core.errors import json_error

TOO_MANY_ATTEMPTS = gettext_lazy("Too many attempts. Wait a few minutes, then try again.")


class OfficialAuthenticationForm(AdminAuthenticationForm):
    """The admin's username-and-password form, with a limit on wrong passwords."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        try:
            officials_auth.consume_password_attempt(request=self.request, username=username)
        except TooManyAttempts:
            raise ValidationError(TOO_MANY_ATTEMPTS, code="too_many_attempts") from None
        return super().clean()


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


def _next_url(request: HttpRequest, site: AdminSite) -> str:
    candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index", current_app=site.name)


def _step_url(next_url: str) -> str:
    return f"{reverse('admin:second_factor')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}"


class OfficialLoginView(LoginView):
    def form_valid(self, form: OfficialAuthenticationForm) -> HttpResponse:
        officials_auth.clear_password_attempts(
            request=self.request, username=form.cleaned_data["username"]
        )
        if not officials_auth.second_factor_required():
            return super().form_valid(form)
        # The password passed; nobody is logged in until the second factor does too.
        officials_auth.begin_pending_login(request=self.request, user=form.get_user())
        return HttpResponseRedirect(_step_url(self.get_success_url()))


def login(site: AdminSite, request: HttpRequest, extra_context: dict | None = None):
    """Django's admin login (AdminSite.login), ending in the second-factor step."""
    next_url = _next_url(request, site)
    if officials_auth.is_official(request.user):
        state = officials_auth.request_state(request)
        if state == State.EXPIRED:
            logout(request)
        elif state == State.SECOND_FACTOR:
            return HttpResponseRedirect(_step_url(next_url))
    if request.method == "GET":
        if site.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=site.name))
        if officials_auth.pending_user(request=request) is not None:
            return HttpResponseRedirect(_step_url(next_url))

    context = {
        **site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=site.name)
    context.update(extra_context or {})
    request.current_app = site.name
    return OfficialLoginView.as_view(
        extra_context=context,
        authentication_form=OfficialAuthenticationForm,
        template_name=site.login_template or "admin/login.html",
    )(request)


def second_factor(site: AdminSite, request: HttpRequest) -> HttpResponse:
    """Enter a code, or (no authenticator yet) enrol one; nothing else until then."""
    next_url = _next_url(request, site)
    user = officials_auth.step_subject(request=request)
    if user is None:
        if site.has_permission(request):
            return HttpResponseRedirect(next_url)
        return redirect_to_login(next_url, reverse("admin:login", current_app=site.name))

    if request.method == "POST" and "cancel" in request.POST:
        officials_auth.cancel_pending_login(request=request)
        if request.user.is_authenticated:
            logout(request)
        return HttpResponseRedirect(reverse("admin:login", current_app=site.name))

    enrolled = officials_mfa.has_totp(user)
    form = CodeForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            if enrolled:
                authenticator = officials_mfa.verify_code(request=request, user=user, code=code)
                if authenticator is not None:
                    officials_auth.complete_login(
                        request=request, user=user, authenticator=authenticator
                    )
                    return HttpResponseRedirect(next_url)
            else:
                enrolment = officials_mfa.enrol(request=request, user=user, code=code)
                if enrolment is not None:
                    totp, recovery_codes = enrolment
                    officials_auth.complete_login(request=request, user=user, authenticator=totp)
                    # Shown this once, in this response: no page shows them again.
                    return render(
                        request,
                        "accounts/officials/recovery_codes.html",
                        {
                            **site.each_context(request),
                            "title": _("Your recovery codes"),
                            "recovery_codes": recovery_codes,
                            "next": next_url,
                        },
                    )
            form.add_error("code", _("Incorrect code."))
        except TooManyAttempts:
            form.add_error(None, TOO_MANY_ATTEMPTS)
            status = 429

    context = {
        **site.each_context(request),
        "title": _("Two-factor authentication"),
        "subtitle": None,
        "form": form,
        "enrolled": enrolled,
        "official": user.get_username(),
        "next": next_url,
        "app_path": request.get_full_path(),
    }
    if not enrolled:
        secret = officials_mfa.enrolment_secret(request=request)
        url = officials_mfa.totp_url(user=user, secret=secret)
        context.update(secret=secret, totp_url=url, totp_svg=officials_mfa.totp_svg(url=url))
    request.current_app = site.name
    response = render(request, "accounts/officials/second_factor.html", context, status=status)
    if status == 429:
        # When allauth's "login_failed" window that refused the code lets the official try again.
        response["Retry-After"] = str(retry_after_seconds(request))
    return response


@csrf_exempt
def authenticators_elsewhere(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """allauth's headless endpoints that list, add or remove authenticators: refused.

    Officials enrol at the admin's login, and an operator resets a lost authenticator in the
    admin (deleting it makes the next login enrol again). Through these endpoints a session
    token alone could add an authenticator to a citizen's account (locking the citizen out of
    their own phone login) or read and regenerate an official's recovery codes.
    """
    return json_error(
        "authenticators_not_available",
        _("Two-factor authentication is set up at the officials' sign-in, not through this API."),
        403,
    )


def authenticator_refusals() -> list[URLPattern]:
    """Routes to put before allauth's own in the root URLconf (both clients, every method)."""
    pattern = r"^_allauth/(?P<client>app|browser)/v1/account/authenticators(?:/.*)?$"
    return [re_path(pattern, authenticators_elsewhere)]
