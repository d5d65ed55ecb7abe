"""Admin forms for districts and groups. They check input; the work is in ``districts.services``
and ``districts.managed_groups``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from districts.phone_csv import (
    MAX_PHONE_CSV_BYTES,
    MAX_PHONE_CSV_ROWS,
    ParsedPhones,
    PhoneCSVError,
    parse_phone_csv,
)


class MembersUploadForm(forms.Form):
    """A CSV of phone numbers that is to become a managed group's whole membership."""

    file = forms.FileField(
        label=_("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Set per form, so it is in the language of the request, not of the import.
        self.fields["file"].help_text = _(
            "One phone number per row, in the first column (010-1234-5678 or +821012345678). "
            "A header row is allowed. UTF-8 or CP949 (as Excel saves it). "
            "At most %(megabytes)s MB and %(rows)s rows."
        ) % {"megabytes": MAX_PHONE_CSV_BYTES // (1024 * 1024), "rows": f"{MAX_PHONE_CSV_ROWS:,}"}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Checked before reading: a larger file is refused without being loaded into memory.
        if upload.size > MAX_PHONE_CSV_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MB."),
                code="too_large",
                params={"limit": MAX_PHONE_CSV_BYTES // (1024 * 1024)},
            )
        data = upload.read()
        try:
            self.parsed: ParsedPhones = parse_phone_csv(data)
        except PhoneCSVError as exc:
            raise forms.ValidationError(exc.message, code="invalid_csv") from exc
        if not self.parsed.rows:
            raise forms.ValidationError(_("The file contains no phone numbers."), code="empty")
        return upload


class ConfirmMembersUploadForm(forms.Form):
    """The confirmation of a previewed upload; the numbers themselves stay on the server."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
