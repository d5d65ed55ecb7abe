"""core/media.py: what is left of an image once cleaned, and its renditions."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageCms, PngImagePlugin

from core import media
from core.images import validate_image
from tests.media import RED, assert_no_metadata, gps_jpeg, has_gps


def test_a_photo_loses_gps_camera_xmp_icc_and_comment_and_stays_upright():
    photo = gps_jpeg(size=(2000, 1000), orientation=6)
    assert has_gps(photo)
    with pytest.raises(AssertionError):
        assert_no_metadata(photo)  # the check can fail: the phone's file has it all

    cleaned = media.clean_image(data=io.BytesIO(photo))

    assert_no_metadata(cleaned.content)
    assert not has_gps(cleaned.content)
    assert cleaned.extension == "jpg"
    # Orientation 6 (stored on its side) applied before the tag went: now upright and tall,
    # the stored left half (red) on top.
    assert (cleaned.width, cleaned.height) == (1000, 2000)
    with Image.open(io.BytesIO(cleaned.content)) as image:
        assert image.format == "JPEG" and image.size == (1000, 2000)
        top, bottom = image.getpixel((500, 100)), image.getpixel((500, 1900))
    assert top[0] > 200 and top[2] < 50
    assert bottom[2] > 200 and bottom[0] < 50


def test_a_png_loses_text_chunks_and_profile_and_keeps_transparency():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Kim Citizen, 010-1234-5678")
    info.add_itxt("XML:com.adobe.xmp", "XmpLeakTool")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGBA", (600, 300), (*RED, 128)).save(out, "PNG", pnginfo=info, icc_profile=icc)
    assert b"010-1234-5678" in out.getvalue()

    cleaned = media.clean_image(data=io.BytesIO(out.getvalue()))

    assert_no_metadata(cleaned.content)
    assert b"010-1234-5678" not in cleaned.content and b"Author" not in cleaned.content
    assert cleaned.extension == "png"
    with Image.open(io.BytesIO(cleaned.content)) as image:
        assert image.mode == "RGBA" and image.getpixel((10, 10))[3] == 128


def test_a_webp_stays_webp_even_with_a_broken_exif_block():
    out = io.BytesIO()
    Image.new("RGB", (300, 200), RED).save(out, "WEBP", exif=b"Exif\x00\x00leak")
    cleaned = media.clean_image(data=io.BytesIO(out.getvalue()))
    assert cleaned.extension == "webp"
    assert_no_metadata(cleaned.content)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((4000, 3000), [(480, 360), (960, 720), (1440, 1080)]),
        ((1000, 2000), [(480, 960), (960, 1920)]),
        ((960, 100), [(480, 50)]),  # never as wide as the original itself
        ((300, 300), []),  # never upscaled
    ],
)
def test_renditions_are_never_wider_than_the_original(size, expected):
    width, height = size
    assert media.rendition_sizes(width=width, height=height) == expected


def test_renditions_are_written_beside_the_original_at_their_size(tmp_path):
    storage = FileSystemStorage(location=tmp_path)
    cleaned = media.clean_image(data=io.BytesIO(gps_jpeg(size=(2000, 1000))))
    name = storage.save("polls/2026/12/abc.jpg", io.BytesIO(cleaned.content))

    made = media.save_renditions(storage=storage, name=name, content=cleaned.content)

    assert [(r.name, r.width, r.height) for r in made] == [
        ("polls/2026/12/abc.w480.webp", 480, 960),
        ("polls/2026/12/abc.w960.webp", 960, 1920),
    ]
    assert made == media.renditions(name=name, width=cleaned.width, height=cleaned.height)
    for rendition in made:
        data = storage.open(rendition.name).read()
        assert_no_metadata(data)
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "WEBP"
            assert image.size == (rendition.width, rendition.height)


def test_too_many_pixels_is_refused_before_anything_is_decoded(settings):
    settings.POLL_IMAGE_MAX_PIXELS = 1_000_000
    out = io.BytesIO()
    Image.new("RGB", (2000, 1000)).save(out, "PNG")  # a few KB, 2 megapixels
    with pytest.raises(ValidationError) as refused:
        validate_image(SimpleUploadedFile("big.png", out.getvalue(), "image/png"))
    assert refused.value.code == "image_too_many_pixels"
    settings.POLL_IMAGE_MAX_PIXELS = 2_000_000
    validate_image(SimpleUploadedFile("big.png", out.getvalue(), "image/png"))
