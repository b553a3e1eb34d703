"""Open a photo safely and turn it into RGB, whatever the camera or scanner wrote.

Every failure becomes a :class:`~shellgui.core.errors.PhotoError` with a one-line message; callers never
see a Pillow traceback. Large JPEGs are decoded in draft mode straight to just above the size the model
needs, which is most of the speed of cataloguing 12-megapixel photos.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import stat
import struct
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from shellgui.core.errors import PhotoError

#: Refuse anything above this many pixels (about a 200-megapixel scan) before decoding it.
MAX_PIXELS = 200_000_000
#: Refuse photos smaller than this on their shorter side: nothing can be identified from them.
MIN_SIDE = 16
#: Files up to this size are read once into memory, hashed and decoded from those very bytes; a larger
#: file is hashed in a first pass and decoded in a second.
SINGLE_READ_BYTES = 256 << 20
#: File name extensions treated as photos when a folder is catalogued.
PHOTO_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif"}
)

_HEIC_REGISTERED: bool | None = None


@dataclass(frozen=True)
class PhotoInfo:
    """Facts about a photo file, stored in the catalogue.

    Attributes:
        width, height: the full-resolution size after EXIF orientation.
        format: Pillow's format name (``"JPEG"``...).
        taken_at: EXIF DateTimeOriginal, ISO 8601, when present.
        camera: EXIF make and model, when present.
        gps_lat, gps_lon: decimal degrees, when present.
    """

    width: int
    height: int
    format: str
    taken_at: str | None = None
    camera: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None


@dataclass(frozen=True)
class Photo:
    """A decoded photo: RGB pixels (possibly reduced in draft mode) plus the file's facts.

    Attributes:
        sha256: SHA-256 of the file's bytes, computed from the bytes that were decoded.
        pixel_sha256: SHA-256 of what the pixels were decoded from (see :func:`pixel_digest`): the same
            for a copy whose metadata was edited.
        size_bytes: the file's size.
    """

    path: str
    image: Image.Image
    info: PhotoInfo
    sha256: str = ""
    pixel_sha256: str | None = None
    size_bytes: int = 0


@dataclass(frozen=True)
class PhotoFile:
    """A photo file read once: its bytes (``None`` for a file too big to hold), size and SHA-256."""

    path: str
    size: int
    sha256: str
    data: bytes | None


def read_photo_file(path: str | os.PathLike[str]) -> PhotoFile:
    """Read a file once and hash it, so that what is decoded is exactly what was hashed.

    Raises:
        PhotoError: a missing, empty, unreadable file or a folder.
    """
    spath = os.fspath(path)
    try:
        st = os.stat(spath)
        size = st.st_size
        if stat.S_ISDIR(st.st_mode):
            raise PhotoError("directory", spath, "is a folder, not a photo")
        if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block or never end
            raise PhotoError("not_a_file", spath, "not a regular file (a pipe, device or socket)")
        if size == 0:
            raise PhotoError("empty", spath, "the file is empty (0 bytes)")
        if size > SINGLE_READ_BYTES:
            return PhotoFile(spath, size, file_sha256(spath), None)
        with open(spath, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise _os_error(spath, exc) from None
    return PhotoFile(spath, len(data), hashlib.sha256(data).hexdigest(), data)


# JPEG segments a metadata edit rewrites: APP0-APP13 and APP15 (JFIF, EXIF, XMP, ICC, MPF offsets,
# IPTC) and comments. APP14 (Adobe) is kept: it decides how the colours are decoded.
_JPEG_METADATA = frozenset([*range(0xE0, 0xEE), 0xEF, 0xFE])


def _jpeg_image_digest(data: bytes) -> str | None:
    """SHA-256 of a JPEG without its metadata segments: tables, frame header and scans (from which the
    pixels are decoded). ``None`` when the marker structure cannot be followed."""
    view = memoryview(data)
    digest = hashlib.sha256()
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: from here on it is image data (and trailing images)
            digest.update(view[pos:])
            return digest.hexdigest()
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            return None
        if marker not in _JPEG_METADATA:
            digest.update(view[pos : pos + 2 + length])
        pos += 2 + length
    return None


def pixel_digest(data: bytes | None, image: Image.Image) -> str | None:
    """A hash that survives metadata edits (keywords, captions, ratings added by a DAM tool).

    For a JPEG, the SHA-256 of the file without its metadata segments: exactly what its pixels are
    decoded from, whatever reduced size they are decoded at. For every other format, the SHA-256 of the
    decoded pixels (mode, size and values). ``None`` when it cannot be worked out.
    """
    if data is not None and data[:3] == b"\xff\xd8\xff":
        return _jpeg_image_digest(data)
    if image.format == "JPEG" or image.mode not in _HASHABLE_MODES:
        return None
    digest = hashlib.sha256(f"{image.mode} {image.width}x{image.height}\n".encode())
    for top in range(0, image.height, 256):  # a band at a time: no second full-size copy
        digest.update(image.crop((0, top, image.width, min(top + 256, image.height))).tobytes())
    return digest.hexdigest()


_HASHABLE_MODES = frozenset({"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "I", "F"})
_HASHABLE_MODES |= {"I;16", "I;16B", "I;16L", "I;16N", "LAB", "HSV", "La", "RGBa"}


def _register_heic() -> bool:
    global _HEIC_REGISTERED
    if _HEIC_REGISTERED is None:
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
            _HEIC_REGISTERED = True
        except ImportError:
            _HEIC_REGISTERED = False
    return _HEIC_REGISTERED


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes (used to recognise the same photo under another name)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _os_error(path: str, exc: OSError) -> PhotoError:
    if isinstance(exc, FileNotFoundError):
        return PhotoError("missing", path, "file not found")
    if isinstance(exc, IsADirectoryError):
        return PhotoError("directory", path, "is a folder, not a photo")
    if isinstance(exc, PermissionError) or exc.errno == errno.EACCES:
        return PhotoError("unreadable", path, "permission denied: the file cannot be read")
    return PhotoError("unreadable", path, f"cannot be read ({exc.strerror or exc})")


def _sniff(path: str, head: bytes) -> PhotoError:
    """Name what a non-image file probably is, so the message helps."""
    lower = path.lower()
    if lower.endswith((".heic", ".heif")) or head[4:12] in (
        b"ftypheic",
        b"ftypheix",
        b"ftypmif1",
        b"ftyphevc",
    ):
        return PhotoError(
            "unsupported", path, "HEIC/HEIF photo: install the 'heic' extra (pip install shellgui[heic])"
        )
    known = {
        b"%PDF": "a PDF document",
        b"PK\x03\x04": "a ZIP archive",
        b"<svg": "an SVG drawing (vector images are not supported)",
        b"<?xm": "an XML/SVG text file",
        b"<!DO": "an HTML page",
        b"<htm": "an HTML page",
        b"GIF8": "a GIF that could not be decoded",
    }
    for magic, what in known.items():
        if head.startswith(magic):
            return PhotoError("not_an_image", path, f"not a photo: looks like {what}")
    if head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n":
        return PhotoError("corrupt", path, "the photo is damaged and cannot be decoded")
    return PhotoError(
        "not_an_image", path, "not a photo in a format shellgui reads (JPEG, PNG, TIFF, WebP, BMP)"
    )


def _rational(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return float("nan")


def _gps_degrees(dms: object, ref: object) -> float | None:
    try:
        d, m, s = (_rational(v) for v in dms)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    value = d + m / 60.0 + s / 3600.0
    if value != value:  # NaN
        return None
    return -value if str(ref).upper() in ("S", "W") else value


def _read_exif(img: Image.Image) -> tuple[str | None, str | None, float | None, float | None]:
    try:
        exif = img.getexif()
    except Exception:  # damaged EXIF must never cost the photo
        return None, None, None, None
    if not exif:
        return None, None, None, None
    taken_at = None
    try:
        sub = exif.get_ifd(0x8769)
        raw_date = sub.get(0x9003) or exif.get(0x0132)
        if raw_date:
            taken_at = datetime.strptime(str(raw_date).strip("\x00 "), "%Y:%m:%d %H:%M:%S").isoformat()
    except (ValueError, KeyError, TypeError):
        taken_at = None
    make = str(exif.get(0x010F, "") or "").strip("\x00 ")
    model = str(exif.get(0x0110, "") or "").strip("\x00 ")
    camera = (model if make and model.startswith(make) else f"{make} {model}".strip()) or None
    lat = lon = None
    try:
        gps = exif.get_ifd(0x8825)
        if gps:
            lat = _gps_degrees(gps.get(2), gps.get(1))
            lon = _gps_degrees(gps.get(4), gps.get(3))
    except (KeyError, TypeError, ValueError):
        lat = lon = None
    return taken_at, camera, lat, lon


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any mode Pillow can open to 8-bit RGB, flattening transparency onto white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit greyscale: scale to the real range, not a clipped 0..255.
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        top = float(arr.max()) if arr.size else 0.0
        scale = 255.0 / (65535.0 if top > 255 else 255.0) if top > 0 else 1.0
        grey = Image.fromarray(np.clip(arr * scale, 0, 255).astype("uint8"), "L")
        return grey.convert("RGB")
    if img.mode == "F":
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        norm = (arr - lo) / (hi - lo) * 255.0 if hi > lo else arr * 0
        return Image.fromarray(norm.astype("uint8"), "L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV


def open_photo(path: str | os.PathLike[str] | PhotoFile, min_side: int | None = None) -> Photo:
    """Open a photo as upright 8-bit RGB.

    Args:
        path: the file, or a :class:`PhotoFile` already read with :func:`read_photo_file`.
        min_side: when given, a JPEG may be decoded in draft mode (a DCT scale of 1/2, 1/4 or 1/8) as
            long as its shorter side stays at least this large; the model's resize size is the right value.

    Returns:
        The decoded :class:`Photo`; ``info`` always describes the full-resolution image, ``sha256`` the
        bytes that were decoded.

    Raises:
        PhotoError: for every file that is not a usable photo, with a one-line reason.
    """
    source = path if isinstance(path, PhotoFile) else read_photo_file(path)
    spath = source.path
    if spath.lower().endswith((".heic", ".heif")):
        _register_heic()
    try:
        fh = io.BytesIO(source.data) if source.data is not None else open(spath, "rb")
    except OSError as exc:
        raise _os_error(spath, exc) from None
    with fh:
        head = fh.read(16)
        fh.seek(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(fh)  # reads the header only
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoError(
                "too_large", spath, "the image is absurdly large (a decompression bomb?)"
            ) from None
        except UnidentifiedImageError:
            raise _sniff(spath, head) from None
        except OSError as exc:
            raise _decode_error(spath, exc) from None
        photo = _decode(spath, img, min_side, source.data)
    return Photo(
        path=spath,
        image=photo.image,
        info=photo.info,
        sha256=source.sha256,
        pixel_sha256=photo.pixel_sha256,
        size_bytes=source.size,
    )


def _decode_error(spath: str, exc: Exception) -> PhotoError:
    message = str(exc)
    lowered = message.lower()
    if "truncated" in lowered or "premature" in lowered or "end of file" in lowered:
        return PhotoError("truncated", spath, "the file is truncated (an incomplete copy or download?)")
    return PhotoError("corrupt", spath, f"the photo is damaged ({message})")


def _decode(spath: str, img: Image.Image, min_side: int | None, data: bytes | None) -> Photo:
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise PhotoError(
            "too_large", spath, f"{width}x{height} pixels is more than the {MAX_PIXELS // 1_000_000} MP limit"
        )
    fmt = img.format or "unknown"
    try:
        if min_side and fmt == "JPEG" and min(img.size) > 2 * min_side:
            img.draft("RGB", (min_side, min_side))  # scales so that both sides stay >= min_side
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img.load()
    except OSError as exc:
        raise _decode_error(spath, exc) from None
    except (ValueError, SyntaxError, EOFError, IndexError, struct.error) as exc:
        raise PhotoError("corrupt", spath, f"the photo is damaged ({exc})") from None
    except MemoryError:
        raise PhotoError("too_large", spath, "not enough memory to decode this image") from None
    # EXIF only after a successful decode: for some formats reading it decodes, and a swallowed
    # decode error there would let a damaged photo through.
    taken_at, camera, lat, lon = _read_exif(img)
    pixels = pixel_digest(data, img)
    orientation = 1
    try:
        orientation = int(img.getexif().get(0x0112, 1) or 1)
    except Exception:
        orientation = 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    if min(img.size) < MIN_SIDE:
        raise PhotoError("too_small", spath, f"{img.size[0]}x{img.size[1]} pixels is too small to identify")
    with contextlib.suppress(Exception):  # a damaged orientation tag must not cost the photo
        img = ImageOps.exif_transpose(img) or img
    rgb = _to_rgb(img)
    info = PhotoInfo(
        width=width, height=height, format=fmt, taken_at=taken_at, camera=camera, gps_lat=lat, gps_lon=lon
    )
    return Photo(path=spath, image=rgb, info=info, pixel_sha256=pixels)


def make_thumbnail(image: Image.Image, size: int = 128, quality: int = 80) -> bytes:
    """A small JPEG of a photo, stored in the catalogue so the table shows thumbnails fast."""
    import io

    thumb = image.copy()
    thumb.thumbnail((size, size))
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def is_photo_name(path: Path) -> bool:
    """Whether a file name has one of the photo extensions catalogued from folders."""
    return path.suffix.lower() in PHOTO_EXTENSIONS
