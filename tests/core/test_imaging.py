"""Opening photos: odd colour modes work, every kind of bad input gives its own clear, one-line error."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shellgui.core.errors import PhotoError
from shellgui.core.imaging import open_photo

FIXTURES = Path(__file__).parents[1] / "fixtures" / "shells"


def _jpeg_bytes(size=(200, 150), colour=(200, 100, 50)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _bomb_png() -> bytes:
    """A valid PNG header that declares 100000 x 100000 pixels."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 10))


def _scrambled_png() -> bytes:
    """A PNG whose compressed pixel data is noise."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    start = data.find(b"IDAT")
    length = struct.unpack(">I", data[start - 4 : start])[0]
    noise = np.random.default_rng(3).integers(0, 256, length, dtype=np.uint8).tobytes()
    data[start + 4 : start + 4 + length] = noise
    return bytes(data)


def _corrupt_jpeg() -> bytes:
    data = bytearray(_jpeg_bytes((300, 300)))
    for i in range(200, len(data) - 10, 7):
        data[i] = 0xFF if i % 2 else 0xD9
    return bytes(data)


BAD_INPUTS = {
    # name: (file name, bytes or None for "do not create", expected kind)
    "missing": ("missing.jpg", None, "missing"),
    "empty": ("empty.jpg", b"", "empty"),
    "text_named_jpg": ("notes.jpg", b"this is not a photo\n" * 20, "not_an_image"),
    "truncated_jpeg": ("cut.jpg", _jpeg_bytes((400, 300))[:600], "truncated"),
    "only_jpeg_marker": ("soi.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 12, "corrupt"),
    "truncated_png": (
        "cut.png",
        Image.new("RGB", (10, 10)).tobytes()[:0] + b"\x89PNG\r\n\x1a\n\x00\x00",
        "corrupt",
    ),
    "scrambled_png": ("crc.png", _scrambled_png(), "corrupt"),
    "decompression_bomb": ("bomb.png", _bomb_png(), "too_large"),
    "pdf": ("scan.pdf", b"%PDF-1.4\n%binary\n1 0 obj\n<<>>\nendobj\n", "not_an_image"),
    "zip": ("photos.png", b"PK\x03\x04" + b"\x00" * 40, "not_an_image"),
    "svg": ("drawing.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not_an_image"),
    "html": ("page.jpg", b"<!DOCTYPE html><html></html>", "not_an_image"),
    "random_bytes": (
        "noise.tif",
        bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)),
        "not_an_image",
    ),
    "heic_without_plugin": ("phone.heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "unsupported"),
    "tiny_image": ("tiny.png", None, "too_small"),
    "corrupt_jpeg_data": ("scrambled.jpg", _corrupt_jpeg(), "corrupt"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_clear_typed_error(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, payload, kind = BAD_INPUTS[case]
    path = tmp_path / name
    if case == "tiny_image":
        Image.new("RGB", (8, 8)).save(path)
    elif payload is not None:
        path.write_bytes(payload)
    if case == "heic_without_plugin":
        monkeypatch.setattr("shellgui.core.imaging._HEIC_REGISTERED", False)
    with pytest.raises(PhotoError) as info:
        open_photo(path)
    error = info.value
    assert error.kind == kind, f"{case}: {error.kind}: {error}"
    message = str(error)
    assert "\n" not in message and message.startswith(str(path)) and len(message) < 200
    assert "Traceback" not in message


def test_directory_and_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PhotoError) as info:
        open_photo(tmp_path)
    assert info.value.kind == "directory"

    path = tmp_path / "locked.jpg"
    path.write_bytes(_jpeg_bytes())

    def deny(*_a: object, **_k: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("os.open", deny)
    with pytest.raises(PhotoError) as info:
        open_photo(path)
    assert info.value.kind == "unreadable" and "permission denied" in str(info.value)


def test_absurd_size_is_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shellgui.core.imaging.MAX_PIXELS", 10_000)
    path = tmp_path / "big.png"
    Image.new("RGB", (200, 200)).save(path)
    with pytest.raises(PhotoError) as info:
        open_photo(path)
    assert info.value.kind == "too_large" and "200x200" in str(info.value)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "I;16", "I", "F", "1", "YCbCr"])
def test_colour_modes_become_rgb(mode: str, tmp_path: Path) -> None:
    img = Image.new("RGB", (40, 30), (200, 60, 30)).convert(
        mode if mode not in ("I;16", "I", "F", "PA") else "L"
    )
    if mode == "I;16":
        arr = (np.linspace(0, 65535, 40 * 30).reshape(30, 40)).astype(np.uint16)
        img = Image.fromarray(arr)
    elif mode in ("I", "F", "PA"):
        img = img.convert(mode)
    ext = {"CMYK": "jpg", "YCbCr": "jpg", "I": "tif", "F": "tif", "PA": "png"}.get(mode, "png")
    if mode == "YCbCr":
        img = Image.new("RGB", (40, 30), (200, 60, 30))
    path = tmp_path / f"img.{ext}"
    img.save(path)
    photo = open_photo(path)
    assert photo.image.mode == "RGB" and photo.image.size == (40, 30)


def test_sixteen_bit_uses_the_full_range(tmp_path: Path) -> None:
    arr = np.full((20, 20), 65535, dtype=np.uint16)
    path = tmp_path / "white16.png"
    Image.fromarray(arr).save(path)
    assert open_photo(path).image.getpixel((5, 5)) == (255, 255, 255)


def test_transparency_is_flattened_on_white(tmp_path: Path) -> None:
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (30, 30), (255, 0, 0, 0)).save(path)
    assert open_photo(path).image.getpixel((3, 3)) == (255, 255, 255)


def test_exif_orientation_date_camera_gps(tmp_path: Path) -> None:
    img = Image.new("RGB", (60, 40), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    exif[0x010F] = "Olympus"
    exif[0x0110] = "TG-6"
    exif.get_ifd(0x8769)[0x9003] = "2024:07:14 09:30:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (33.0, 51.0, 36.0), "E", (151.0, 12.0, 0.0)
    path = tmp_path / "exif.jpg"
    img.save(path, exif=exif)
    photo = open_photo(path)
    assert photo.image.size == (40, 60)
    assert (photo.info.width, photo.info.height) == (40, 60)
    assert photo.info.taken_at == "2024-07-14T09:30:00"
    assert photo.info.camera == "Olympus TG-6"
    assert photo.info.gps_lat == pytest.approx(-33.86, abs=1e-3)
    assert photo.info.gps_lon == pytest.approx(151.2, abs=1e-3)


def test_draft_decode_stays_above_the_model_size(tmp_path: Path) -> None:
    path = tmp_path / "large.jpg"
    Image.new("RGB", (4000, 3000), (120, 80, 40)).save(path, quality=85)
    photo = open_photo(path, min_side=384)
    assert min(photo.image.size) >= 384 and photo.image.size[0] <= 1000
    assert (photo.info.width, photo.info.height) == (4000, 3000)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP", "BMP", "GIF"])
def test_supported_formats(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"img.{fmt.lower()}"
    Image.new("RGB", (50, 40), (1, 2, 3)).save(path, fmt)
    assert open_photo(path).info.format == fmt


def test_real_shell_photo_opens() -> None:
    photo = open_photo(next(FIXTURES.glob("*/*.jpg")))
    assert photo.image.size == (400, 300)


def test_heic_opens_when_pillow_heif_is_installed(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path = tmp_path / "phone.heic"
    Image.new("RGB", (64, 48), (10, 200, 30)).save(path, format="HEIF")
    photo = open_photo(path)
    assert photo.image.mode == "RGB" and photo.info.format == "HEIF"
