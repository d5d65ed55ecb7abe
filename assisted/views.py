"""The operator's pages (/assist/): search a poll, identify the caller, cast, read the receipt.

Plain Django templates, not the admin: an operator sees only what the call needs. Every page asks
for an operator (``assisted.assist_callers``: the "operator" group, or a superuser) whose session
passed the officials' second factor (accounts/officials_auth.py); others go to the officials'
login, or are refused. Refusals are pages with the refusal's HTTP status (a second ballot: 409).
"""

from collections.abc import Callable
from functools import wraps
from typing import cast

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import officials_auth
from accounts.models import User
from assisted import services
from assisted.roles import OPERATOR_PERMISSION
from core.errors import ApiError
from voting.models import Poll

RECEIPTS_KEY = "assisted.receipts"
KEPT_RECEIPTS = 5


def operators_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        user = request.user
        if not (
            officials_auth.is_official(user)
            and officials_auth.request_state(request) == officials_auth.State.OK
        ):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not user.has_perm(OPERATOR_PERMISSION):
            return render(request, "assisted/refused.html", status=403)
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


def _operator(request: HttpRequest) -> User:
    # Signed in: ``operators_only`` let the request through.
    return cast(User, request.user)


def _refusal(request: HttpRequest, template: str, error: ApiError, **context: object):
    context["error"] = str(error.detail)
    context["error_code"] = error.get_codes()
    return render(request, template, context, status=error.status_code)


@operators_only
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    return render(
        request,
        "assisted/search.html",
        {"query": query, "polls": services.search_polls(query=query)},
    )


@operators_only
def identify(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = services.open_poll(poll_id=poll_id)
    return render(request, "assisted/identify.html", {"poll": poll})


@require_POST
@operators_only
def send_code(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = services.open_poll(poll_id=poll_id)
    phone = request.POST.get("phone", "")
    try:
        identification = services.start_sms(
            operator=_operator(request), poll_id=poll.pk, phone=phone
        )
    except ApiError as error:
        return _refusal(request, "assisted/identify.html", error, poll=poll, phone=phone)
    return redirect("assisted:code", identification_id=identification.pk)


@require_POST
@operators_only
def use_pin(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = services.open_poll(poll_id=poll_id)
    name = request.POST.get("name", "")
    try:
        identification = services.identify_by_pin(
            operator=_operator(request), poll_id=poll.pk, name=name, pin=request.POST.get("pin", "")
        )
    except ApiError as error:
        return _refusal(request, "assisted/identify.html", error, poll=poll, name=name)
    return redirect("assisted:ballot", identification_id=identification.pk)


@require_http_methods(["GET", "POST"])
@operators_only
def code(request: HttpRequest, identification_id: int) -> HttpResponse:
    try:
        identification = services.owned(
            operator=_operator(request), identification_id=identification_id
        )
        if request.method == "POST":
            services.verify_code(
                operator=_operator(request),
                identification_id=identification_id,
                code=request.POST.get("code", ""),
            )
            return redirect("assisted:ballot", identification_id=identification_id)
    except services.NotYours as error:
        return _refusal(request, "assisted/refused.html", error)
    except ApiError as error:
        return _refusal(request, "assisted/code.html", error, identification=identification)
    return render(request, "assisted/code.html", {"identification": identification})


@require_http_methods(["GET", "POST"])
@operators_only
def ballot(request: HttpRequest, identification_id: int) -> HttpResponse:
    try:
        page = services.ballot_page(
            operator=_operator(request), identification_id=identification_id
        )
    except ApiError as error:
        return _refusal(request, "assisted/refused.html", error)
    context = {"page": page, "poll": page.poll, "kind": page.poll.kind}
    if request.method == "GET":
        return render(request, "assisted/ballot.html", context)
    try:
        result = services.cast(
            operator=_operator(request),
            identification_id=identification_id,
            **_ballot_of(request, page.poll),
        )
    except ApiError as error:
        return _refusal(request, "assisted/ballot.html", error, **context)
    # Kept in the operator's session to show it on the next page; the last few calls only.
    receipts = dict(list(request.session.get(RECEIPTS_KEY, {}).items())[-(KEPT_RECEIPTS - 1) :])
    receipts[str(identification_id)] = result.body["receipt"]
    request.session[RECEIPTS_KEY] = receipts
    return redirect("assisted:receipt", identification_id=identification_id)


def _ballot_of(request: HttpRequest, poll: Poll) -> dict:
    """The form's fields as cast_ballot's arguments: chosen options, ranks, or scores."""
    if poll.kind == Poll.Kind.RANKED:
        ranked = []
        for option in poll.options.all():
            rank = request.POST.get(f"rank_{option.pk}", "").strip()
            if rank.isdigit():
                ranked.append((int(rank), option.pk))
        return {"ranking": [option for _rank, option in sorted(ranked)]}
    if poll.kind == Poll.Kind.SCORE:
        scores = []
        for option in poll.options.all():
            score = request.POST.get(f"score_{option.pk}", "").strip()
            if score.isdigit():
                scores.append((option.pk, int(score)))
        return {"scores": scores}
    chosen = request.POST.getlist("option")
    return {"option_ids": [int(value) for value in chosen if value.isdigit()]}


@operators_only
def receipt(request: HttpRequest, identification_id: int) -> HttpResponse:
    try:
        identification = services.owned(
            operator=_operator(request), identification_id=identification_id
        )
    except ApiError as error:
        return _refusal(request, "assisted/refused.html", error)
    code = request.session.get(RECEIPTS_KEY, {}).get(str(identification_id))
    if code is None or identification.cast_at is None:
        return redirect("assisted:search")
    return render(
        request,
        "assisted/receipt.html",
        {"identification": identification, "poll": identification.poll, "receipt": code},
    )
