"""Writes on districts and groups. Views and the admin call these; they hold no logic themselves."""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
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
    """Counts only: the report is shown in the admin and must not list citizens."""

    members: int  # members after the change
    pending: int  # places kept for numbers without a (verified) account, after the change
    members_added: int
    members_removed: int
    pending_added: int
    pending_removed: int

    @property
    def removed(self) -> int:
        return self.members_removed + self.pending_removed


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
        user_ids=user_ids,
        pending=pending,
        members_to_add=user_ids - current_members,
        members_to_remove=current_members - user_ids,
        pending_to_add=pending - current_pending,
        pending_to_remove=current_pending - pending,
    )


def preview_managed_group_members(*, group: Group, phones: Iterable[str]) -> MembershipReport:
    """What :func:`set_managed_group_members` would do now, without changing anything."""
    if group.kind != Group.Kind.MANAGED:
        raise NotManagedGroupError(group.pk)
    return _plan(group.pk, phones).report()


@transaction.atomic
def set_managed_group_members(*, group: Group, phones: Iterable[str]) -> MembershipReport:
    """Make ``phones`` (E.164, e.g. from :func:`parse_phone_csv`) the whole of ``group``'s members.

    Numbers of citizens with a verified phone become members; the others are kept as pending
    places, which :func:`claim_pending_memberships` turns into memberships once the number is
    verified. Members and pending places not among ``phones`` are removed. Duplicates count once.

    One transaction; the group row is locked so two uploads to the same group do not interleave.
    The number of queries does not grow with the number of phones (up to one chunk of a few
    thousand numbers, then one query more per chunk).
    """
    kind = (
        Group.objects.select_for_update().filter(pk=group.pk).values_list("kind", flat=True).first()
    )
    if kind != Group.Kind.MANAGED:
        raise NotManagedGroupError(group.pk)
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
    return plan.report()
