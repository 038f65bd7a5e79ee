"""Converts an X window dump (`xwd -root`, 24 or 32 bits per pixel, ZPixmap) to a PNG, with
the standard library only: `python3 scripts/xwd2png.py in.xwd out.png`. Used by
scripts/screenshots, where ImageMagick may be missing."""

import struct
import sys
import zlib


def read_xwd(data):
    """(width, height, rows of RGB bytes) of a ZPixmap dump."""
    fields = struct.unpack(">25I", data[:100])
    header_size, _version, pixmap_format, _depth, width, height = fields[:6]
    byte_order, bits_per_pixel, bytes_per_line = fields[7], fields[11], fields[12]
    red_mask, green_mask, blue_mask = fields[14:17]
    ncolors = fields[19]
    if pixmap_format != 2 or bits_per_pixel not in (24, 32):
        sys.exit(f"xwd2png: only 24- or 32-bit ZPixmap dumps are read (format {pixmap_format}, {bits_per_pixel} bpp)")
    start = header_size + ncolors * 12
    step = bits_per_pixel // 8
    order = "<" if byte_order == 0 else ">"
    shift = lambda mask: (mask & -mask).bit_length() - 1
    shifts = [(shift(m), m) for m in (red_mask, green_mask, blue_mask)]
    rows = []
    for y in range(height):
        line = data[start + y * bytes_per_line : start + y * bytes_per_line + width * step]
        if step == 4:
            pixels = struct.unpack(f"{order}{width}I", line)
        else:
            pixels = [int.from_bytes(line[i : i + 3], "little" if order == "<" else "big") for i in range(0, len(line), 3)]
        row = bytearray()
        for p in pixels:
            row += bytes(((p & m) >> s) & 255 for s, m in shifts)
        rows.append(bytes(row))
    return width, height, rows


def write_png(path, width, height, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\0" + row for row in rows)
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        out.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        out.write(chunk(b"IEND", b""))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: xwd2png.py IN.xwd OUT.png")
    with open(sys.argv[1], "rb") as dump:
        write_png(sys.argv[2], *read_xwd(dump.read()))
