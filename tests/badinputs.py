"""The bad-input corpus: hostile and odd files, generated (not committed), as a user's folders hold them.

Each case writes one file (or link, FIFO...) into a folder and says what must happen: ``None`` means
"handled" (the photo opens and is identified), otherwise the :class:`PhotoError` kind it is refused with.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

Maker = Callable[[Path], Path]


def _jpeg(size: tuple[int, int] = (200, 150), colour=(200, 100, 50), **save) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    rng = np.random.default_rng(7)
    arr = np.clip(np.array(colour) + rng.integers(-30, 30, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(buf, "JPEG", **save)
    return buf.getvalue()


def _png(image: Image.Image, **save) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    image.save(buf, "PNG", **save)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _png_header_only(width: int, height: int, rows: int | None = None, colour_type: int = 0) -> bytes:
    """A PNG that declares ``width`` x ``height`` (greyscale); ``rows`` rows of zero pixels are stored,
    compressed as a stream so even 5,000,000 rows cost only a few kilobytes of memory."""
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    comp = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    parts = []
    block = row * max(1, 65536 // len(row))
    left = height if rows is None else rows
    per = len(block) // len(row)
    while left > 0:
        take = min(per, left)
        parts.append(comp.compress(block[: take * len(row)]))
        left -= take
    parts.append(comp.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def _write(name: str, data: bytes | Callable[[], bytes]) -> Maker:
    """A file with these bytes (a callable makes them only when the case is created)."""

    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data() if callable(data) else data)
        return path

    return make


def _flip_entropy(data: bytes, step: int, value: int | None = None) -> bytes:
    out = bytearray(data)
    start = out.find(b"\xff\xda") + 20
    for i in range(start, len(out) - 4, step):
        out[i] = value if value is not None else out[i] ^ 0x5A
    return bytes(out)


def _jpeg_with_sof(width: int, height: int) -> bytes:
    data = bytearray(_jpeg((64, 48)))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _exif_jpeg(**tags: object) -> bytes:
    exif = Image.Exif()
    gps = tags.pop("gps", None)
    for tag, value in tags.items():
        exif[int(tag[1:], 16)] = value
    if gps is not None:
        exif.get_ifd(0x8825).update(gps)  # type: ignore[arg-type]
    return _jpeg(exif=exif)


def _heic(size=(64, 48)) -> bytes:  # type: ignore[no-untyped-def]
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buf, format="HEIF")
    return buf.getvalue()


def _fifo(name: str) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / name
        os.mkfifo(path)
        return path

    return make


def _link(name: str, to: str) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / name
        os.symlink(to, path)
        return path

    return make


def _link_loop(name: str) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / name
        os.symlink(folder / f"{name}.other", path)
        os.symlink(path, folder / f"{name}.other")
        return path

    return make


def _named(raw_name: bytes, data: bytes) -> Maker:
    """A file whose name is raw bytes (not necessarily UTF-8, as on old shares)."""

    def make(folder: Path) -> Path:
        path = os.path.join(os.fsencode(folder), raw_name)
        with open(path, "wb") as fh:
            fh.write(data)
        return Path(os.fsdecode(path))

    return make


def _tiff_bad_ifd() -> bytes:
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 0xFFFF) + b"\x00" * 32


def _gif_bad() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (40, 40)).save(buf, "GIF")
    data = bytearray(buf.getvalue())
    data[-10:-1] = b"\xff" * 9
    return bytes(data[: len(data) // 2])


def _text_bomb_png() -> bytes:
    data = _png(Image.new("RGB", (40, 40), (9, 9, 9)))
    bomb = _chunk(b"zTXt", b"comment\x00\x00" + zlib.compress(b"A" * 4_000_000, 9))
    return data[:33] + bomb + data[33:]


def _bad_crc_png() -> bytes:
    data = bytearray(_png(Image.new("RGB", (40, 40), (9, 9, 9))))
    data[29] ^= 0xFF  # IHDR's CRC
    return bytes(data)


def _bmp_huge() -> bytes:
    header = b"BM" + struct.pack("<IHHI", 70, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, 60000, 60000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return header + info + b"\x00" * 16


def _cmyk_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("CMYK", (60, 40), (0, 200, 200, 0)).save(buf, "JPEG")
    return buf.getvalue()


def _animated_gif() -> bytes:
    buf = io.BytesIO()
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def _multipage_tiff() -> bytes:
    buf = io.BytesIO()
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def _progressive_cut() -> bytes:
    data = _jpeg((300, 200), progressive=True)
    return data[: len(data) * 2 // 3]


def _junk(seed: int, n: int) -> bytes:
    return bytes(np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8))


def _webp() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), (50, 60, 70)).save(buf, "WEBP")
    return buf.getvalue()


def _grey_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (80, 60), 140).save(buf, "JPEG")
    return buf.getvalue()


#: name: (maker, expected PhotoError kind, or None when the file must be catalogued normally)
CORPUS: dict[str, tuple[Maker, str | None]] = {
    # not photos at all
    "empty": (_write("empty.jpg", b""), "empty"),
    "one_byte": (_write("one.jpg", b"\xff"), "not_an_image"),
    "text_named_jpg": (_write("notes.jpg", b"this is not a photo\n" * 20), "not_an_image"),
    "pdf": (_write("scan.jpg", b"%PDF-1.4\n%binary\n1 0 obj\n<<>>\nendobj\n"), "not_an_image"),
    "zip": (_write("photos.png", b"PK\x03\x04" + b"\x00" * 40), "not_an_image"),
    "svg": (_write("drawing.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"), "not_an_image"),
    "xml": (_write("data.jpg", b'<?xml version="1.0"?><root/>'), "not_an_image"),
    "html": (_write("page.jpg", b"<!DOCTYPE html><html></html>"), "not_an_image"),
    "elf_binary": (_write("program.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 100), "not_an_image"),
    "random_bytes_tif": (_write("noise.tif", _junk(1, 4096)), "not_an_image"),
    "random_bytes_jpg": (_write("noise.jpg", _junk(2, 4096)), "not_an_image"),
    "all_ff": (_write("ff.jpg", b"\xff" * 2048), "not_an_image"),
    "all_zero": (_write("zeros.png", b"\x00" * 2048), "not_an_image"),
    # damaged JPEGs
    "truncated_jpeg": (_write("cut.jpg", _jpeg((400, 300))[:600]), "truncated"),
    "truncated_jpeg_late": (_write("cut_late.jpg", _jpeg((400, 300))[:-200]), "truncated"),
    "truncated_progressive": (_write("prog_cut.jpg", _progressive_cut()), "truncated"),
    "only_soi": (_write("soi.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 12), "corrupt"),
    "jpeg_header_then_zeros": (_write("hz.jpg", _jpeg()[:400] + b"\x00" * 4000), "damaged"),
    "corrupt_entropy_xor": (_write("xor.jpg", _flip_entropy(_jpeg((400, 300)), 97)), "damaged"),
    "corrupt_entropy_markers": (_write("markers.jpg", _flip_entropy(_jpeg((300, 300)), 7, 0xFF)), "damaged"),
    "jpeg_huge_sof": (_write("huge_sof.jpg", _jpeg_with_sof(65000, 65000)), "too_large"),
    "jpeg_zero_sof": (_write("zero_sof.jpg", _jpeg_with_sof(0, 0)), "corrupt"),
    "jpeg_strip_sof": (_write("strip_sof.jpg", _jpeg_with_sof(60000, 20)), "bad_shape"),
    # damaged PNGs and other formats
    "truncated_png": (_write("cut.png", b"\x89PNG\r\n\x1a\n\x00\x00"), "corrupt"),
    "png_cut_in_idat": (
        _write("idat_cut.png", _png(Image.new("RGB", (300, 300), (1, 2, 3)))[:-40]),
        "truncated",
    ),
    "png_bad_crc": (_write("crc.png", _bad_crc_png()), "corrupt"),
    "png_text_bomb": (_write("textbomb.png", _text_bomb_png), "corrupt"),
    "png_bomb_100k": (_write("bomb.png", _png_header_only(100_000, 100_000, rows=1)), "too_large"),
    "png_zero_width": (_write("zero.png", _png_header_only(0, 10, rows=0)), "corrupt"),
    "png_strip_16x5m": (_write("strip16.png", lambda: _png_header_only(16, 5_000_000)), "bad_shape"),
    "png_strip_20x200k": (_write("strip20.png", lambda: _png_header_only(20, 200_000)), "bad_shape"),
    "png_one_pixel": (_write("dot.png", _png(Image.new("RGB", (1, 1)))), "too_small"),
    "png_tiny": (_write("tiny.png", _png(Image.new("RGB", (8, 8)))), "too_small"),
    "gif_cut": (_write("cut-gif.png", _gif_bad()), "truncated"),
    "gif_header_only": (_write("head-gif.jpg", b"GIF89a"), "not_an_image"),
    "tiff_bad_ifd": (_write("ifd.tif", _tiff_bad_ifd()), "not_an_image"),
    "tiff_header_only": (_write("head.tif", b"II*\x00"), "not_an_image"),
    "bmp_huge_header": (_write("huge.bmp", _bmp_huge()), "too_large"),
    "bmp_header_only": (_write("head.bmp", b"BM"), "not_an_image"),
    "webp_garbage": (_write("bad.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + _junk(3, 64)), "corrupt"),
    "webp_cut": (_write("cut.webp", _webp()[:-30]), "corrupt"),
    "heic_damaged": (_write("phone.heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64), "corrupt"),
    "heic_named_jpg_damaged": (_write("phone2.jpg", b"\x00\x00\x00\x18ftypmif1" + b"\x00" * 64), "corrupt"),
    # not regular files
    "fifo": (_fifo("pipe.jpg"), "not_a_file"),
    "link_to_dev_zero": (_link("zero.jpg", "/dev/zero"), "not_a_file"),
    "link_to_dev_null": (_link("null.jpg", "/dev/null"), "not_a_file"),
    "dangling_link": (_link("gone.jpg", "/nonexistent/photo.jpg"), "missing"),
    "link_loop": (_link_loop("loop.jpg"), "unreadable"),
    # odd names: refused or handled, always one line
    "newline_in_name_bad": (_write("two\nlines.jpg", b"not a photo"), "not_an_image"),
    "escape_in_name_bad": (_write("\x1b]0;pwned\x07.jpg", b"not a photo"), "not_an_image"),
    "latin1_name_bad": (_named(b"caf\xe9-broken.jpg", b"not a photo"), "not_an_image"),
    # handled: these are photos and must be catalogued
    "latin1_name_good": (_named(b"coquille-\xe9t\xe9.jpg", _jpeg(colour=(230, 20, 20))), None),
    "newline_in_name_good": (_write("shell\nphoto.jpg", _jpeg(colour=(20, 230, 20))), None),
    "escape_in_name_good": (_write("\x1b[31mred.jpg", _jpeg(colour=(20, 20, 230))), None),
    "heic_named_jpg": (_write("iphone.jpg", b""), None),  # filled in by make_case (needs pillow-heif)
    "gps_out_of_range": (
        _write("gps.jpg", _exif_jpeg(gps={1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)})),
        None,
    ),
    "exif_nul_strings": (
        _write("nul.jpg", _exif_jpeg(x010F="Can\x00on\x00\x00", x0110="EOS\x00\x1b[2J")),
        None,
    ),
    "exif_bad_orientation": (_write("orient.jpg", _exif_jpeg(x0112=99)), None),
    "cmyk_jpeg": (_write("cmyk.jpg", _cmyk_jpeg()), None),
    "grey_jpeg": (_write("grey.jpg", _grey_jpeg()), None),
    "trailing_garbage_jpeg": (_write("trail.jpg", _jpeg(colour=(90, 60, 30)) + b"\x00garbage" * 10), None),
    "animated_gif": (_write("anim-gif.png", _animated_gif()), None),
    "multipage_tiff": (_write("pages.tif", _multipage_tiff()), None),
    "upper_case_ext": (_write("SHOUT.JPG", _jpeg(colour=(120, 30, 200))), None),
}


def make_case(name: str, folder: Path) -> Path:
    """Create one corpus case in ``folder``; returns its path."""
    maker, _ = CORPUS[name]
    path = maker(folder)
    if name == "heic_named_jpg":
        path.write_bytes(_heic())
    return path


def make_corpus(folder: Path) -> dict[str, Path]:
    """Every case in one folder (what a user's worst shared drive looks like)."""
    folder.mkdir(parents=True, exist_ok=True)
    return {name: make_case(name, folder) for name in CORPUS}
