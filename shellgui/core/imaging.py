"""Open a photo safely and turn it into RGB, whatever the camera or scanner wrote.

Every failure becomes a :class:`~shellgui.core.errors.PhotoError` with a one-line message; callers never
see a Pillow traceback. Large JPEGs are decoded in draft mode straight to just above the size the model
needs, which is most of the speed of cataloguing 12-megapixel photos.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import io
import math
import os
import stat
import struct
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

from shellgui.core.errors import PhotoError

if TYPE_CHECKING:
    from shellgui.core.crops import Crop

#: Refuse anything above this many pixels (about a 200-megapixel scan) before decoding it. Photos from
#: medium-format cameras and flatbed scans (90-200 MP) are accepted.
MAX_PIXELS = 200_000_000
#: Refuse photos smaller than this on their shorter side: nothing can be identified from them.
MIN_SIDE = 16
#: Refuse strips longer than this many times their width: no camera or scanner makes them, and a
#: 16 x 5,000,000 PNG is a memory trap, not a specimen.
MAX_ASPECT = 20
#: No camera writes a JPEG this big; more is padding or an attack, not a photo.
MAX_JPEG_BYTES = 512 << 20
#: Pillow's own bomb guard would refuse real 90-200 MP photos at its 89 MP default; ours applies instead.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
#: The brands of an ISO base-media file that mean HEIC/HEIF (bytes 8..12 of the file).
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
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
        crop: when set, ``image`` holds only this part of the photo (see :mod:`shellgui.core.crops`);
            everything else still describes the whole file.
        subject: which subject of a photo of several shells this is (0: the only or the first); each
            subject of a file is catalogued as its own photo row.
    """

    path: str
    image: Image.Image
    info: PhotoInfo
    sha256: str = ""
    pixel_sha256: str | None = None
    size_bytes: int = 0
    crop: Crop | None = None
    subject: int = 0


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
        PhotoError: a missing, empty or unreadable file, a folder, or not a regular file (never opened).
    """
    spath = os.fspath(path)
    with open_regular_file(spath) as fh:
        try:
            size = os.fstat(fh.fileno()).st_size
            if size > SINGLE_READ_BYTES:  # too big to hold: hashed in a pass of its own
                return PhotoFile(spath, size, file_sha256(spath), None)
            data = fh.read()
        except OSError as exc:
            raise _os_error(spath, exc) from None
    if not data:
        raise PhotoError("empty", spath, "the file is empty (0 bytes)")
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


def pixel_digest(data: bytes | None, photo: Photo) -> str | None:
    """A hash that survives metadata edits (keywords, captions, ratings added by a DAM tool).

    For a JPEG, the SHA-256 of the file without its metadata segments: exactly what its pixels are
    decoded from, whatever reduced size they are decoded at. For every other format, the SHA-256 of the
    decoded pixels (size and values). ``None`` when it cannot be worked out.
    """
    if photo.info.format == "JPEG":
        return _jpeg_image_digest(data) if data is not None and data[:2] == b"\xff\xd8" else None
    image = photo.image
    if image.mode not in _HASHABLE_MODES:
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


def open_regular_file(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for reading; anything else is refused before it is opened.

    A FIFO would block forever, ``/dev/zero`` (or a link to it named ``.jpg``) never ends, and opening
    some devices has side effects: the type is checked with ``stat`` first, and again on the open
    descriptor so a file swapped in between is caught too.

    Raises:
        PhotoError: not found, unreadable, a folder, or not a regular file.
    """
    spath = os.fspath(path)
    try:
        st = os.stat(spath)
    except OSError as exc:
        raise _os_error(spath, exc) from None
    _require_regular(spath, st.st_mode)
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    )
    try:
        fd = os.open(spath, flags)
    except OSError as exc:
        raise _os_error(spath, exc) from None
    try:
        _require_regular(spath, os.fstat(fd).st_mode)
    except PhotoError:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _require_regular(spath: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise PhotoError("directory", spath, "is a folder, not a photo")
    if not stat.S_ISREG(mode):
        raise PhotoError("not_a_file", spath, "not a regular file (a device, FIFO or socket); not opened")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes (used to recognise the same photo under another name).

    Raises:
        PhotoError: the path is not a readable regular file (see :func:`open_regular_file`).
    """
    digest = hashlib.sha256()
    with open_regular_file(path) as fh:
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
    if _is_heif(head) or (lower.endswith((".heic", ".heif")) and head[4:8] != b"ftyp"):
        if not _register_heic():
            return PhotoError(
                "unsupported", path, "HEIC/HEIF photo: install the 'heic' extra (pip install shellgui[heic])"
            )
        if _is_heif(head):
            return PhotoError("corrupt", path, "a HEIC/HEIF photo that is damaged and cannot be decoded")
        return PhotoError("not_an_image", path, "named .heic but not a HEIC/HEIF photo")
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


def _is_heif(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def _gps_degrees(dms: object, ref: object, limit: float) -> float | None:
    """Decimal degrees from EXIF degrees/minutes/seconds; ``None`` when absent, damaged or out of range."""
    try:
        d, m, s = (_rational(v) for v in dms)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    value = d + m / 60.0 + s / 3600.0
    if not math.isfinite(value) or not (0 <= m < 60 and 0 <= s < 60) or not 0 <= value <= limit:
        return None
    return -value if str(ref).upper().strip("\x00 ") in ("S", "W") else value


def _exif_text(value: object) -> str:
    """An EXIF string with NULs and control characters removed (cameras pad with NULs)."""
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value or "")
    return "".join(ch for ch in text if ch.isprintable()).strip()


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
    make = _exif_text(exif.get(0x010F, ""))
    model = _exif_text(exif.get(0x0110, ""))
    camera = (model if make and model.startswith(make) else f"{make} {model}".strip()) or None
    lat = lon = None
    try:
        gps = exif.get_ifd(0x8825)
        if gps:
            lat = _gps_degrees(gps.get(2), gps.get(1), 90.0)
            lon = _gps_degrees(gps.get(4), gps.get(3), 180.0)
            if lat is None or lon is None:  # half a position is no position
                lat = lon = None
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
        bytes that were decoded (the file is read once).

    Raises:
        PhotoError: for every file that is not a usable photo, with a one-line reason. Anything
            unexpected while decoding (a Pillow or plug-in bug on a hostile file) is this photo's
            failure too, never the caller's crash.
    """
    source = path if isinstance(path, PhotoFile) else read_photo_file(path)
    photo = _open_bytes(source, min_side)
    return dataclasses.replace(
        photo, sha256=source.sha256, pixel_sha256=pixel_digest(source.data, photo), size_bytes=source.size
    )


def _open_bytes(source: PhotoFile, min_side: int | None) -> Photo:
    spath = source.path
    with io.BytesIO(source.data) if source.data is not None else open_regular_file(spath) as fh:
        head = fh.read(16)
        if not head:
            raise PhotoError("empty", spath, "the file is empty (0 bytes)")
        if _is_heif(head) or spath.lower().endswith((".heic", ".heif")):
            _register_heic()  # by content too: phones' HEIC photos are often renamed .jpg
        fh.seek(0)
        try:
            with warnings.catch_warnings():
                # Pillow warns about damaged EXIF and the like on stderr; what matters is in the error.
                warnings.simplefilter("ignore")
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                return _open(spath, fh, head, min_side)
        except PhotoError:
            raise
        except MemoryError:
            raise PhotoError("too_large", spath, "not enough memory to decode this image") from None
        except RecursionError:
            raise PhotoError("corrupt", spath, "the photo's structure is damaged (nested too deep)") from None
        except Exception as exc:  # a decoder bug on a hostile file: this photo fails, the run goes on
            raise PhotoError("corrupt", spath, f"the photo cannot be decoded ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _open(spath: str, fh: BinaryIO, head: bytes, min_side: int | None) -> Photo:
    try:
        img = Image.open(fh)  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(
            "too_large", spath, f"the image is larger than the {MAX_PIXELS // 1_000_000} MP limit"
        ) from None
    except UnidentifiedImageError:
        raise _sniff(spath, head) from None
    except OSError as exc:
        raise _decode_error(spath, exc) from None
    return _decode(spath, fh, img, min_side)


def _decode_error(spath: str, exc: Exception) -> PhotoError:
    message = str(exc)
    lowered = message.lower()
    if "truncated" in lowered or "premature" in lowered or "end of file" in lowered:
        return PhotoError("truncated", spath, "the file is truncated (an incomplete copy or download?)")
    return PhotoError("corrupt", spath, f"the photo is damaged ({_first_line(exc)})")


def _check_size(spath: str, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise PhotoError(
            "too_large", spath, f"{width}x{height} pixels is more than the {MAX_PIXELS // 1_000_000} MP limit"
        )
    if min(width, height) < MIN_SIDE:
        raise PhotoError("too_small", spath, f"{width}x{height} pixels is too small to identify")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise PhotoError(
            "bad_shape", spath, f"{width}x{height} pixels is a strip, not a photo (over {MAX_ASPECT}:1)"
        )


def _decode_jpeg_strictly(spath: str, fh: BinaryIO, min_side: int | None) -> Image.Image:
    """Decode a JPEG with libjpeg-turbo's warnings as errors, so corrupt data is refused rather than
    identified from a half-grey picture (Pillow decodes such files silently). The pixels are the same
    as Pillow's, draft scaling included."""
    import simplejpeg

    fh.seek(0, os.SEEK_END)  # the size of a file or of bytes read already (read(n) would reserve n)
    if fh.tell() > MAX_JPEG_BYTES:
        raise PhotoError("too_large", spath, f"a JPEG over {MAX_JPEG_BYTES >> 20} MB is not a photo")
    fh.seek(0)
    data = fh.read()
    side = min_side or 0
    try:
        array = simplejpeg.decode_jpeg(data, colorspace="RGB", min_height=side, min_width=side)
    except ValueError as exc:
        message = str(exc)
        if "premature end" in message.lower() and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
            raise PhotoError(
                "truncated", spath, "the file is truncated (an incomplete copy or download?)"
            ) from None
        raise PhotoError(
            "damaged", spath, f"the JPEG data is corrupt ({message}); the answer would be wrong"
        ) from None
    return Image.fromarray(array, "RGB")


def _decode(spath: str, fh: BinaryIO, img: Image.Image, min_side: int | None) -> Photo:
    width, height = img.size
    _check_size(spath, width, height)
    fmt = img.format or "unknown"
    if fmt == "JPEG" and img.mode in ("RGB", "L"):
        # A JPEG's EXIF is in its header; the pixels come from the strict decoder.
        taken_at, camera, lat, lon = _read_exif(img)
        orientation = _orientation(img)
        pixels = _decode_jpeg_strictly(spath, fh, _reduced_decode_side(fmt, img.size, min_side))
        pixels = pixels.transpose(_TRANSPOSE[orientation]) if orientation in _TRANSPOSE else pixels
    else:
        pixels = _decode_with_pillow(spath, img, min_side, fmt)
        # EXIF only after a successful decode: for some formats reading it decodes, and a swallowed
        # decode error there would let a damaged photo through.
        taken_at, camera, lat, lon = _read_exif(img)
        orientation = _orientation(img)
        with contextlib.suppress(Exception):  # a damaged orientation tag must not cost the photo
            pixels = ImageOps.exif_transpose(pixels) or pixels
        pixels = _to_rgb(pixels)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    info = PhotoInfo(
        width=width, height=height, format=fmt, taken_at=taken_at, camera=camera, gps_lat=lat, gps_lon=lon
    )
    return Photo(path=spath, image=pixels, info=info)


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(0x0112, 1) or 1)
    except Exception:  # a damaged tag is an upright photo
        return 1


def _reduced_decode_side(fmt: str | None, size: tuple[int, int], min_side: int | None) -> int | None:
    """The short side a reduced decode must keep (``min_side``) when the photo is decoded reduced: a JPEG
    whose short side is over twice ``min_side``; ``None`` when it is decoded at full size."""
    return min_side if fmt == "JPEG" and min_side and min(size) > 2 * min_side else None


def _decode_with_pillow(spath: str, img: Image.Image, min_side: int | None, fmt: str) -> Image.Image:
    try:
        side = _reduced_decode_side(fmt, img.size, min_side)
        if side:
            img.draft("RGB", (side, side))  # scales so that both sides stay >= min_side
        img.load()
    except OSError as exc:
        raise _decode_error(spath, exc) from None
    except (ValueError, SyntaxError, EOFError, IndexError, struct.error) as exc:
        raise PhotoError("corrupt", spath, f"the photo is damaged ({_first_line(exc)})") from None
    if min(img.size) < MIN_SIDE:
        raise PhotoError("too_small", spath, f"{img.size[0]}x{img.size[1]} pixels is too small to identify")
    return img


def decoded_pixels(source: PhotoFile, min_side: int | None) -> int:
    """How many pixels :func:`open_photo` will decode for this file with this ``min_side`` (a JPEG's
    reduced decode counted as reduced), from its header alone; 0 when the header cannot be read (then
    :func:`open_photo` says why)."""
    try:
        fh = io.BytesIO(source.data) if source.data is not None else open_regular_file(source.path)
        with fh, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(fh)
            width, height, fmt = img.width, img.height, img.format
    except Exception:  # only an estimate: the decode itself reports every problem
        return 0
    scale, side = 1, _reduced_decode_side(fmt, (width, height), min_side)
    while side and scale < 8 and min(width, height) // (scale * 2) >= side:
        scale *= 2
    return (width // scale) * (height // scale)


def bounded_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """``(width, height)`` scaled down (never up) so that the longer side is at most ``longest``."""
    scale = min(1.0, longest / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def make_thumbnail(image: Image.Image, size: int = 128, quality: int = 80) -> bytes:
    """A small JPEG of a photo, stored in the catalogue so the table shows thumbnails fast."""
    import io

    thumb = image.resize(bounded_size(*image.size, size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def is_photo_name(path: Path) -> bool:
    """Whether a file name has one of the photo extensions catalogued from folders."""
    return path.suffix.lower() in PHOTO_EXTENSIONS
