"""The Korean catalogue is complete and compiled, and the API speaks Korean unless asked otherwise.

New strings: run ``make messages``, translate the new entries in ``locale/ko/LC_MESSAGES/django.po``
(no ``#, fuzzy`` left, placeholders kept), then run ``make messages`` again to compile the .mo.
"""

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from tests.district_codes import SEOUL

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES"
PO_FILE = LC_MESSAGES / "django.po"
MO_FILE = LC_MESSAGES / "django.mo"

ME = "/api/v1/me/"
INVALID_DISTRICT_EN = "Choose an active gu or dong of the city as your residence."
INVALID_DISTRICT_KO = "서울시의 유효한 자치구 또는 행정동을 거주지로 선택해 주세요."
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# %(name)s / %(n)d style, bare %s / %d, and str.format's {} / {name}.
PLACEHOLDER = re.compile(r"%\(\w+\)[#0 +-]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{\w*\}")


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstrs: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    line: int = 0

    @property
    def label(self) -> str:
        return f"django.po:{self.line} {self.msgid!r}"


def parse_po(path: Path) -> list[Entry]:
    """A small reader for the subset of the PO format that makemessages writes."""
    entries: list[Entry] = []
    entry, target = Entry(), None

    def flush() -> None:
        nonlocal entry, target
        if target is not None:
            entries.append(entry)
        entry, target = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#~"):
            entry.obsolete = True
            line = line[2:].strip()
            if not line or line.startswith("|"):  # "#~|": the previous msgid of an obsolete entry
                continue
        if not line:
            flush()
            continue
        if line.startswith("#,"):
            if target is not None:
                flush()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = None, line
        value = ast.literal_eval(rest)
        if keyword == "msgctxt":
            if target is not None:
                flush()
            target, entry.msgctxt = "msgctxt", value
        elif keyword == "msgid":
            if target is not None and target.startswith("msgstr"):
                flush()
            entry.line, target = number, "msgid"
            entry.msgid = value
        elif keyword == "msgid_plural":
            target, entry.msgid_plural = "msgid_plural", value
        elif keyword is not None and keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            target = f"msgstr[{index}]"
            entry.msgstrs[index] = value
        elif keyword is None and target == "msgctxt":
            entry.msgctxt += value
        elif keyword is None and target == "msgid":
            entry.msgid += value
        elif keyword is None and target == "msgid_plural":
            entry.msgid_plural += value
        elif keyword is None and target is not None and target.startswith("msgstr"):
            index = int(target[7:-1])
            entry.msgstrs[index] += value
        else:
            raise AssertionError(f"django.po:{number}: cannot read {raw!r}")
    flush()
    return [e for e in entries if not e.obsolete]


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    assert PO_FILE.exists(), "run `make messages` to create the Korean catalogue"
    entries = parse_po(PO_FILE)
    assert len(entries) > 100, "the catalogue looks truncated"
    return entries


@pytest.fixture(scope="module")
def messages(catalogue) -> list[Entry]:
    return [e for e in catalogue if e.msgid]


@pytest.fixture(autouse=True)
def _restore_language():
    # Requests with Accept-Language activate a language in this thread; put back the previous.
    previous = translation.get_language()
    yield
    translation.activate(previous)


def test_header_declares_korean_utf8_and_one_plural_form(catalogue):
    header = next(e for e in catalogue if e.msgid == "")
    assert "fuzzy" not in header.flags
    text = header.msgstrs[0]
    assert "Language: ko\n" in text
    assert "charset=UTF-8" in text
    assert "Plural-Forms: nplurals=1; plural=0;" in text


def test_no_entry_is_fuzzy(messages):
    fuzzy = [e.label for e in messages if "fuzzy" in e.flags]
    assert not fuzzy, f"fuzzy entries (check the translation, then drop the flag): {fuzzy}"


def test_every_entry_is_translated(messages):
    untranslated = [
        e.label
        for e in messages
        if not e.msgstrs or any(not text.strip() for text in e.msgstrs.values())
    ]
    assert not untranslated, f"untranslated entries: {untranslated}"


def test_plural_entries_have_exactly_one_form(messages):
    # Korean has one plural form (nplurals=1): msgstr[0] only.
    wrong = [e.label for e in messages if e.msgid_plural is not None and set(e.msgstrs) != {0}]
    assert not wrong, f"plural entries must have just msgstr[0]: {wrong}"


def test_translations_are_korean(messages):
    # Every string has Hangul, except pure placeholders/formats with nothing to translate.
    not_korean = [
        e.label
        for e in messages
        if HANGUL.search(e.msgid) is None
        and re.search(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", e.msgid))
        and not all(HANGUL.search(text) for text in e.msgstrs.values())
    ]
    assert not not_korean, f"translations without Korean text: {not_korean}"


def test_placeholders_are_kept(messages):
    wrong = []
    for e in messages:
        sources = [e.msgid] + ([e.msgid_plural] if e.msgid_plural is not None else [])
        # The singular may spell a count out ("1 minute"); the plural always has every one.
        expected = max((sorted(PLACEHOLDER.findall(s)) for s in sources), key=len)
        for text in e.msgstrs.values():
            if sorted(PLACEHOLDER.findall(text)) != expected:
                wrong.append(e.label)
    assert not wrong, f"placeholders differ from the source: {wrong}"


def test_sms_texts_keep_the_sender_prefix(messages):
    sms = [e for e in messages if e.msgid.startswith("[%(sender)s] ")]
    assert sms, "the SMS texts are missing from the catalogue"
    wrong = [
        e.label for e in sms if not all(t.startswith("[%(sender)s] ") for t in e.msgstrs.values())
    ]
    assert not wrong, f"SMS translations must start with the sender prefix: {wrong}"


def test_compiled_catalogue_matches_the_po(messages):
    assert MO_FILE.exists(), "run `make messages` to compile django.mo"
    with MO_FILE.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = []
    for e in messages:
        if e.msgctxt is None and e.msgid_plural is None:
            got = compiled.gettext(e.msgid)
        elif e.msgctxt is None:
            got = compiled.ngettext(e.msgid, e.msgid_plural, 2)
        elif e.msgid_plural is None:
            got = compiled.pgettext(e.msgctxt, e.msgid)
        else:
            got = compiled.npgettext(e.msgctxt, e.msgid, e.msgid_plural, 2)
        if got != e.msgstrs.get(0):
            stale.append(e.label)
    assert not stale, f"django.mo is older than django.po; run `make messages`: {stale}"


# --- The API answers in the client's language, Korean by default ---------------------------------


def test_drf_error_is_korean_by_default(api):
    response = api.get(ME)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "authentication_required"
    assert body["detail"] == "자격 인증 데이터가 제공되지 않았습니다."
    assert response.headers["Content-Language"] == "ko"


def test_drf_error_is_english_on_request(api):
    response = api.get(ME, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "authentication_required"
    assert body["detail"] == "Authentication credentials were not provided."
    assert response.headers["Content-Language"] == "en"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, INVALID_DISTRICT_KO),
        ({"HTTP_ACCEPT_LANGUAGE": "ko-KR,ko;q=0.9,en;q=0.8"}, INVALID_DISTRICT_KO),
        ({"HTTP_ACCEPT_LANGUAGE": "en"}, INVALID_DISTRICT_EN),
        ({"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}, INVALID_DISTRICT_EN),
    ],
)
def test_product_error_follows_accept_language(client_for, citizen, headers, detail):
    response = client_for(citizen).patch(ME, {"district": SEOUL}, format="json", **headers)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_district"
    assert body["detail"] == detail


@pytest.mark.django_db
def test_unsupported_language_falls_back_to_korean(client_for, citizen):
    response = client_for(citizen).patch(
        ME, {"district": SEOUL}, format="json", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.json()["detail"] == INVALID_DISTRICT_KO
