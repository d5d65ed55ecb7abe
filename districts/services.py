"""Writes on districts and groups. Views and the admin call these; they hold no logic themselves."""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.phone import normalize_phone
from districts.models import Group, GroupMembership, PendingGroupMember


@transaction.atomic
def claim_pending_memberships(*, user) -> int:
    """Turn the managed-group places kept for ``user``'s phone into memberships.

    Called once the phone is verified: only the holder of the number may take its places.
    Returns the number of groups joined.
    """
    if not user.phone:
        return 0
    pending = PendingGroupMember.objects.filter(phone=user.phone)
    group_ids = list(pending.values_list("group_id", flat=True))
    GroupMembership.objects.bulk_create(
        [GroupMembership(group_id=group_id, user=user) for group_id in group_ids],
        ignore_conflicts=True,
    )
    pending.delete()
    return len(group_ids)


# --- Managed groups: members set from a CSV of phone numbers -----------------------------------

MAX_PHONE_CSV_BYTES = 2 * 1024 * 1024
MAX_PHONE_CSV_ROWS = 100_000

# Why a row was not taken. Lazy: rendered in the official's language when the report is shown.
ROW_EMPTY = _("no phone number in the first column")
ROW_NOT_MOBILE = _("not a mobile number")

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class PhoneCSVError(ValueError):
    """The file as a whole cannot be used (too large, too many rows, not text, not CSV)."""

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


class NotManagedGroupError(ValueError):
    """Members are set only on managed groups: citizens join self-declared groups themselves."""


class GroupOutsideJurisdictionError(PermissionDenied):
    """A gu's official acting on a city-wide group or on another gu's group."""


# --- Who may do what with groups ---------------------------------------------------------------


def is_city_wide(user) -> bool:
    # As voting.scoping.is_city_wide (not imported: districts sits below voting).
    return user.is_superuser or user.jurisdiction_id is None


def groups_visible_to(user, queryset: QuerySet[Group] | None = None) -> QuerySet[Group]:
    """City-wide officials see every group; a gu's officials their gu's and the city-wide ones.

    City-wide groups stay visible (read-only, see :func:`may_manage_group`) so a gu's polls can
    be targeted at them; another gu's groups do not exist for a gu's official.
    """
    queryset = Group.objects.all() if queryset is None else queryset
    if not (user.is_active and user.is_staff):
        return queryset.none()
    if is_city_wide(user):
        return queryset
    return queryset.filter(Q(jurisdiction__isnull=True) | Q(jurisdiction_id=user.jurisdiction_id))


def may_manage_group(*, user, group: Group) -> bool:
    """Edit, delete, set members: the city's officials any group, a gu's officials their gu's."""
    if not (user.is_active and user.is_staff):
        return False
    if is_city_wide(user):
        return True
    return group.jurisdiction_id is not None and group.jurisdiction_id == user.jurisdiction_id


def may_see_account_existence(user) -> bool:
    """Whether ``user`` may learn which uploaded numbers belong to an account.

    Telling members from pending places says exactly that, so it goes with the permission to see
    citizens' phone numbers: without it, a one-number upload would be an account lookup.
    """
    return user.has_perm("accounts.view_phone_number")


@dataclass(frozen=True)
class InvalidRow:
    line: int
    reason: str


@dataclass(frozen=True)
class ParsedPhones:
    """What a phone-number CSV holds.

    ``phones`` are the valid numbers in E.164, each once, in file order; ``invalid`` the rows that
    were not taken, by line number (as Excel numbers its rows, header and blank lines included).
    """

    phones: list[str]
    invalid: list[InvalidRow]
    rows: int  # non-blank data rows read (header excluded)
    duplicates: int  # valid rows repeating a number already seen
    header_skipped: bool


@dataclass(frozen=True)
class MembershipReport:
    """Counts only: the report is shown in the admin and must not list citizens.

    The split between members and pending places says which numbers have an account: only
    officials allowed to see phone numbers are shown it (``may_see_account_existence``); the
    others see ``places`` and ``places_before`` only, which do not depend on who signed up.
    """

    members: int  # members after the change
    pending: int  # places kept for numbers without a (verified) account, after the change
    members_added: int
    members_removed: int
    pending_added: int
    pending_removed: int
    places_before: int = 0  # members + pending places before the change

    @property
    def removed(self) -> int:
        return self.members_removed + self.pending_removed

    @property
    def places(self) -> int:
        """Members and pending places after the change: the number of valid numbers uploaded."""
        return self.members + self.pending


def _decode_csv(data: bytes) -> str:
    # Excel's "CSV UTF-8" starts with a BOM; Korean Excel's plain "CSV" is CP949 (a superset of
    # EUC-KR). UTF-8 is tried first: CP949 would accept many UTF-8 byte sequences as garbage.
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PhoneCSVError(
        _("The file is neither UTF-8 nor CP949 (EUC-KR) text. Save it from Excel as “CSV UTF-8”.")
    )


def parse_phone_csv(
    data: bytes, *, max_bytes: int = MAX_PHONE_CSV_BYTES, max_rows: int = MAX_PHONE_CSV_ROWS
) -> ParsedPhones:
    """Read a CSV of phone numbers: one per row, in the first column; other columns are ignored.

    Numbers may be in E.164 (+821012345678) or the domestic form (010-1234-5678, 01012345678);
    they are normalised with :func:`accounts.phone.normalize_phone`. A first row whose first cell
    is not a phone number and contains letters ("phone", "전화번호") is a header and is skipped;
    blank lines are ignored. Raises :class:`PhoneCSVError` when the file as a whole is unusable.
    """
    if len(data) > max_bytes:
        raise PhoneCSVError(
            _("The file is larger than %(limit)s MB.") % {"limit": _megabytes(max_bytes)}
        )
    text = _decode_csv(data)
    phones: dict[str, None] = {}  # ordered set
    invalid: list[InvalidRow] = []
    rows = duplicates = 0
    header_skipped = False
    seen_first_row = False
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 0
    try:
        for line, cells in enumerate(reader, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            first = cells[0].strip()
            try:
                phone = normalize_phone(first) if first else None
            except ValidationError:
                phone = None
            if not seen_first_row:
                seen_first_row = True
                if phone is None and any(ch.isalpha() for ch in first):
                    header_skipped = True
                    continue
            rows += 1
            if rows > max_rows:
                raise PhoneCSVError(
                    _(
                        "The file has more than %(limit)s rows. A group is set from one file, "
                        "so it cannot be split into several uploads; ask for a larger limit."
                    )
                    % {"limit": f"{max_rows:,}"}
                )
            if phone is None:
                invalid.append(InvalidRow(line, ROW_NOT_MOBILE if first else ROW_EMPTY))
            elif phone in phones:
                duplicates += 1
            else:
                phones[phone] = None
    except csv.Error as exc:
        raise PhoneCSVError(_("Line %(line)s cannot be read as CSV.") % {"line": line + 1}) from exc
    return ParsedPhones(
        phones=list(phones),
        invalid=invalid,
        rows=rows,
        duplicates=duplicates,
        header_skipped=header_skipped,
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _chunk_size() -> int:
    # SQLite allows 999 parameters per statement (Django's conservative figure); keep a margin
    # for the other parameters of the query. PostgreSQL has no such limit below 65,535.
    limit = connection.features.max_query_params or 10_000
    return min(5_000, limit - 10)


@dataclass(frozen=True)
class _Plan:
    places_before: int
    user_ids: set[int]
    pending: set[str]
    members_to_add: set[int]
    members_to_remove: set[int]
    pending_to_add: set[str]
    pending_to_remove: set[str]

    def report(self) -> MembershipReport:
        return MembershipReport(
            members=len(self.user_ids),
            pending=len(self.pending),
            members_added=len(self.members_to_add),
            members_removed=len(self.members_to_remove),
            pending_added=len(self.pending_to_add),
            pending_removed=len(self.pending_to_remove),
            places_before=self.places_before,
        )


def _plan(group_id: int, phones: Iterable[str]) -> _Plan:
    wanted = set(phones)
    bad = next((phone for phone in wanted if not _E164.match(phone)), None)
    if bad is not None:
        # Callers pass numbers through normalize_phone (parse_phone_csv does); anything else is a
        # programming error, not a row to report.
        raise ValueError("phone numbers must be normalised to E.164")
    size = _chunk_size()
    # Only a verified phone makes its holder a member (as in claim_pending_memberships); a number
    # registered but not yet verified keeps its place pending until it is.
    holders: dict[str, int] = {}
    for chunk in _chunks(sorted(wanted), size):
        holders.update(
            get_user_model()
            .objects.filter(phone__in=chunk, phone_verified=True)
            .values_list("phone", "id")
        )
    user_ids = set(holders.values())
    pending = wanted - holders.keys()
    current_members = set(
        GroupMembership.objects.filter(group_id=group_id).values_list("user_id", flat=True)
    )
    current_pending = set(
        PendingGroupMember.objects.filter(group_id=group_id).values_list("phone", flat=True)
    )
    return _Plan(
        places_before=len(current_members) + len(current_pending),
        user_ids=user_ids,
        pending=pending,
        members_to_add=user_ids - current_members,
        members_to_remove=current_members - user_ids,
        pending_to_add=pending - current_pending,
        pending_to_remove=current_pending - pending,
    )


def _check_may_manage(by, group: Group) -> None:
    if by is not None and not may_manage_group(user=by, group=group):
        raise GroupOutsideJurisdictionError()


def preview_managed_group_members(
    *, group: Group, phones: Iterable[str], by=None
) -> MembershipReport:
    """What :func:`set_managed_group_members` would do now, without changing anything."""
    _check_may_manage(by, group)
    if group.kind != Group.Kind.MANAGED:
        raise NotManagedGroupError(group.pk)
    return _plan(group.pk, phones).report()


@transaction.atomic
def set_managed_group_members(*, group: Group, phones: Iterable[str], by=None) -> MembershipReport:
    """Make ``phones`` (E.164, e.g. from :func:`parse_phone_csv`) the whole of ``group``'s members.

    Numbers of citizens with a verified phone become members; the others are kept as pending
    places, which :func:`claim_pending_memberships` turns into memberships once the number is
    verified. Members and pending places not among ``phones`` are removed. Duplicates count once.

    One transaction; the group row is locked so two uploads to the same group do not interleave.
    The number of queries does not grow with the number of phones (up to one chunk of a few
    thousand numbers, then one query more per chunk).

    ``by``, the official acting, must be allowed to manage the group (a gu's official, their
    gu's groups only); the admin checks it too, this is the last line.
    """
    locked = (
        Group.objects.select_for_update()
        .filter(pk=group.pk)
        .values_list("kind", "jurisdiction_id")
        .first()
    )
    if locked is None or locked[0] != Group.Kind.MANAGED:
        raise NotManagedGroupError(group.pk)
    # The jurisdiction as locked now, not as the caller's copy of the group says.
    _check_may_manage(by, Group(pk=group.pk, kind=locked[0], jurisdiction_id=locked[1]))
    plan = _plan(group.pk, phones)
    size = _chunk_size()
    for chunk in _chunks(sorted(plan.members_to_remove), size):
        GroupMembership.objects.filter(group_id=group.pk, user_id__in=chunk).delete()
    for chunk in _chunks(sorted(plan.pending_to_remove), size):
        PendingGroupMember.objects.filter(group_id=group.pk, phone__in=chunk).delete()
    if plan.members_to_add:
        GroupMembership.objects.bulk_create(
            [GroupMembership(group_id=group.pk, user_id=uid) for uid in plan.members_to_add],
            ignore_conflicts=True,
            batch_size=size,
        )
    if plan.pending_to_add:
        PendingGroupMember.objects.bulk_create(
            [PendingGroupMember(group_id=group.pk, phone=phone) for phone in plan.pending_to_add],
            ignore_conflicts=True,
            batch_size=size,
        )
    report = plan.report()
    if by is not None:
        _audit_replacement(by=by, group=group, report=report)
    return report


def _audit_replacement(*, by, group: Group, report: MembershipReport) -> None:
    # Imported here: districts sits below voting, whose models import districts.
    from voting.audit import record_event

    # Every official reads the audit log: one count (members and pending places together), so
    # the entry cannot say which numbers have an account. Never a phone number.
    record_event(
        actor=by,
        subject_type="group",
        subject_id=group.pk,
        title=group.name,
        action="replace_members",
        changes={"members_and_pending": [report.places_before, report.places]},
    )


def keep_managed_places(*, user) -> int:
    """Before an account is deleted: its managed-group memberships become pending places again.

    The group was set from phone numbers, and the number still belongs to the group: without
    this, the group's count would drop when the holder of one uploaded number deletes their
    account, telling an official that the number had an account. If the citizen signs up again,
    :func:`claim_pending_memberships` puts them back. Returns the number of places kept.
    """
    if not user.phone or not user.phone_verified:
        return 0
    group_ids = list(
        GroupMembership.objects.filter(user=user, group__kind=Group.Kind.MANAGED).values_list(
            "group_id", flat=True
        )
    )
    PendingGroupMember.objects.bulk_create(
        [PendingGroupMember(group_id=group_id, phone=user.phone) for group_id in group_ids],
        ignore_conflicts=True,
    )
    return len(group_ids)
