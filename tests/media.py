"""Images as phones take them, with everything a photo says about its taker, and the checks that
none of it is left in what the server stores and serves."""

import io

import piexif
from PIL import Image, ImageCms

RED = (220, 20, 20)
BLUE = (20, 20, 220)
CAMERA = b"PrivacyLeakCam"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="'
    b'XmpLeakTool"/></rdf:RDF></x:xmpmeta>'
)
COMMENT = b"taken at home, 37.5665N 126.9780E"


def gps_jpeg(*, size: tuple[int, int] = (2000, 1000), orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: GPS position, camera, time, an orientation tag (6: the
    pixels are stored lying on their side), XMP, an ICC profile and a comment. The stored
    pixels are red on the left half, blue on the right."""
    width, height = size
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    exif = piexif.dump(
        {
            "0th": {
                piexif.ImageIFD.Make: CAMERA,
                piexif.ImageIFD.Model: b"Model X",
                piexif.ImageIFD.Orientation: orientation,
            },
            "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2026:11:30 10:00:00"},
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: ((37, 1), (33, 1), (5994, 100)),
                piexif.GPSIFD.GPSLongitudeRef: b"E",
                piexif.GPSIFD.GPSLongitude: ((126, 1), (58, 1), (4080, 100)),
            },
        }
    )
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif, icc_profile=icc, comment=COMMENT, xmp=XMP)
    return out.getvalue()


def assert_no_metadata(data: bytes) -> None:
    """Nothing but pixels: no EXIF (so no GPS, camera or orientation), XMP, ICC or comment."""
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif(), dict(image.getexif())
        leaked = {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "photoshop"}
        assert not leaked & set(image.info), image.info.keys()
    for marker in (b"Exif\x00\x00", CAMERA, b"XmpLeakTool", b"ns.adobe.com/xap", COMMENT, b"ICC_"):
        assert marker not in data, marker


def has_gps(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(0x8825))
