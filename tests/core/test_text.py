"""One text cleaner for everything citizens and officials write (core.text.clean_text)."""

import unicodedata

import pytest
from rest_framework.exceptions import ValidationError

from core.text import clean_text
from discussion import services as discussion
from moderation import errors as moderation_errors
from moderation.services import clean_reason
from proposals import services as proposals
from tests.factories import CitizenFactory

# A right-to-left override: "abc\u202etxt.exe" shows as "abcexe.txt" — a title could show one
# thing and say another.
RLO = "\u202e"


def code_of(caught: pytest.ExceptionInfo[ValidationError], field: str) -> str:
    return caught.value.get_codes()[field][0]


# --- The rule, as proposals, comments and reasons meet it ----------------------------------------


@pytest.mark.django_db
def test_a_bidi_override_in_a_proposal_title_is_refused():
    # It was accepted before core.text: proposals checked control characters only.
    with pytest.raises(ValidationError) as caught:
        proposals.submit_proposal(
            author=CitizenFactory(),
            title=f"한강공원 {RLO}금연구역",
            description="한강공원 전체를 금연구역으로 지정할까요?",
            options=["찬성", "반대"],
            district_code=None,
            duration_days=14,
        )
    assert code_of(caught, "title") == "invalid_characters"


def test_the_same_characters_are_refused_everywhere():
    text = f"좋은 글{RLO}입니다"
    with pytest.raises(ValidationError):
        discussion.clean_body(text)
    with pytest.raises(ValidationError):
        proposals.clean_options(["찬성", text])
    with pytest.raises(ValidationError):
        clean_reason(text)


def test_a_moderation_reason_is_cleaned_and_needs_two_characters():
    assert clean_reason("  개인정보 노출\r\n  ") == "개인정보 노출"
    assert clean_reason(" 욕설 ") == "욕설"  # two characters say it in Korean
    for short in (None, "", "   ", "x"):
        with pytest.raises(moderation_errors.ReasonRequired):
            clean_reason(short)
    with pytest.raises(ValidationError):
        clean_reason(42)  # not text at all


# --- clean_text ----------------------------------------------------------------------------------


def test_text_is_stored_in_nfc():
    decomposed = unicodedata.normalize("NFD", "한글 café")
    assert decomposed != "한글 café"
    assert clean_text(decomposed, field="title", max_length=10) == "한글 café"


def test_the_length_is_counted_after_nfc():
    # Three jamo typed separately are one syllable as shown, and one as counted.
    assert clean_text("\u1112\u1161\u11ab", field="title", max_length=1) == "한"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("  안녕하세요 \n", "안녕하세요"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("탭\t허용", "탭\t허용"),
        ("👩‍👩‍👧 가족", "👩‍👩‍👧 가족"),  # emoji joined by ZWJ are fine
    ],
)
def test_multiline_text_keeps_line_breaks_and_tabs(raw, stored):
    assert clean_text(raw, field="body", max_length=100, multiline=True) == stored


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (42, "invalid"),
        (None, "invalid"),
        ("", "blank"),
        (" \n ", "blank"),
        ("x" * 11, "max_length"),
        ("제목\x00", "invalid_characters"),
        ("a\x1b[31mb", "invalid_characters"),
        ("다음\x85줄", "invalid_characters"),  # a C1 control (NEL)
        ("첫째\n둘째", "invalid_characters"),  # a line break in single-line text
        ("탭\t문자", "invalid_characters"),  # so is a tab
        ("\ud800", "invalid_characters"),  # a lone surrogate
        *[(f"x{char}y", "invalid_characters") for char in "\u202a\u202b\u202c\u202d\u202e"],
        *[(f"x{char}y", "invalid_characters") for char in "\u2066\u2067\u2068\u2069"],
    ],
)
def test_single_line_text_refuses(raw, code):
    with pytest.raises(ValidationError) as caught:
        clean_text(raw, field="title", max_length=10)
    assert code_of(caught, "title") == code


def test_multiline_text_still_refuses_other_controls_and_bidi():
    for raw in ("a\x00b", "a\x0bb", f"a{RLO}b", "a\u2066b"):
        with pytest.raises(ValidationError):
            clean_text(raw, field="body", max_length=10, multiline=True)


def test_the_error_names_the_field():
    with pytest.raises(ValidationError) as caught:
        clean_text("", field="description", max_length=10)
    assert list(caught.value.detail) == ["description"]
