#!/usr/bin/env python3
"""Recorded camera frames and their pre-processing references, for Tests/SwiftletTests/FrameTests.swift.

Writes Tests/Fixtures/camera/ from the shipped photos (models/photos):
  chelsea_160x120.yuyv         YUYV 4:2:2, 160x120, 320 bytes per line
  chelsea_160x120_pad.yuyv     the same frame with 352 bytes per line (32 bytes of row padding)
  coffee_160x120.nv12          NV12 4:2:0, 160x120
  astronaut_96x72.grey         GREY, 96x72
  photos_160x120.mjpeg         three JPEG frames (chelsea, coffee, astronaut), concatenated
  <frame>.<case>.rgb           the reference model input in RGB bytes for each case below
  photos_160x120.mjpeg.N.dct2.<case>.rgb  the same from a JPEG decoded at 1/2 scale (Pillow's draft)
  chelsea_160x120.yuyv.imagenet.npy  float32 (1, 48, 64, 3): the stretch case normalised with ImageNet mean/std

The reference is the straightforward way, step by step, on the whole frame: YUV -> RGB with the
BT.601 limited-range integer formulas of Sources/SwiftletVision/Frame.swift (numpy), then Pillow's
bilinear resize (stretch to 64x48, or shorter side to 56 then the centre 48x48), then
(x - mean) / std in float32. The frames themselves come from Pillow's RGB -> YUV with the inverse
BT.601 formulas, so they are what a camera would send for those photos.
Run: ~/.cache/swiftlet/venv/bin/python tools/camera/make_fixtures.py (any Python with Pillow and numpy).
"""
import os
import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "camera")
PHOTOS = os.path.join(ROOT, "models", "photos")
MEAN = np.array([0.485 * 255, 0.456 * 255, 0.406 * 255], dtype=np.float32)
STD = np.array([0.229 * 255, 0.224 * 255, 0.225 * 255], dtype=np.float32)


def photo(name, w, h):
    return np.asarray(Image.open(os.path.join(PHOTOS, name)).convert("RGB").resize((w, h), Image.BILINEAR), dtype=np.int32)


def rgb_to_yuv(rgb):
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
    u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128
    v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128
    return [np.clip(c, 0, 255).astype(np.uint8) for c in (y, u, v)]


def yuv_to_rgb(y, u, v):
    c = 298 * (y.astype(np.int32) - 16) + 128
    d = u.astype(np.int32) - 128
    e = v.astype(np.int32) - 128
    rgb = np.stack([(c + 409 * e) >> 8, (c - 100 * d - 208 * e) >> 8, (c + 516 * d) >> 8], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def yuyv_frame(rgb, stride):
    h, w, _ = rgb.shape
    y, u, v = rgb_to_yuv(rgb)
    # one U and V per pixel pair: the pair's mean (rounded), as a camera's 4:2:2 subsampling
    u2 = ((u[:, 0::2].astype(np.int32) + u[:, 1::2] + 1) >> 1).astype(np.uint8)
    v2 = ((v[:, 0::2].astype(np.int32) + v[:, 1::2] + 1) >> 1).astype(np.uint8)
    packed = np.zeros((h, stride), dtype=np.uint8)
    packed[:, 0:2 * w:4] = y[:, 0::2]
    packed[:, 1:2 * w:4] = u2
    packed[:, 2:2 * w:4] = y[:, 1::2]
    packed[:, 3:2 * w:4] = v2
    decoded = yuv_to_rgb(y, np.repeat(u2, 2, axis=1), np.repeat(v2, 2, axis=1))
    return packed.tobytes(), decoded


def nv12_frame(rgb):
    h, w, _ = rgb.shape
    y, u, v = rgb_to_yuv(rgb)
    def sub(c):
        c = c.astype(np.int32)
        return ((c[0::2, 0::2] + c[0::2, 1::2] + c[1::2, 0::2] + c[1::2, 1::2] + 2) >> 2).astype(np.uint8)
    u4, v4 = sub(u), sub(v)
    uv = np.stack([u4, v4], axis=-1).reshape(h // 2, w)
    up = lambda c: np.repeat(np.repeat(c, 2, axis=0), 2, axis=1)
    decoded = yuv_to_rgb(y, up(u4), up(v4))
    return y.tobytes() + uv.tobytes(), decoded


def stretch(rgb):
    return np.asarray(Image.fromarray(rgb).resize((64, 48), Image.BILINEAR))


def shorter_crop(rgb, shorter=56, crop=48):
    h, w, _ = rgb.shape
    size = (shorter, shorter * h // w) if w <= h else (shorter * w // h, shorter)
    resized = Image.fromarray(rgb).resize(size, Image.BILINEAR)
    left = int(round((size[0] - crop) / 2.0))
    top = int(round((size[1] - crop) / 2.0))
    return np.asarray(resized.crop((left, top, left + crop, top + crop)))


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def references(name, rgb):
    write(f"{name}.stretch64x48.rgb", stretch(rgb).tobytes())
    write(f"{name}.shorter56crop48.rgb", shorter_crop(rgb).tobytes())


def main():
    os.makedirs(OUT, exist_ok=True)
    chelsea = photo("chelsea.jpg", 160, 120)
    data, decoded = yuyv_frame(chelsea, 320)
    write("chelsea_160x120.yuyv", data)
    references("chelsea_160x120.yuyv", decoded)
    normalised = ((stretch(decoded).astype(np.float32) - MEAN) / STD).astype(np.float32)
    np.save(os.path.join(OUT, "chelsea_160x120.yuyv.imagenet.npy"), normalised.reshape(1, 48, 64, 3))
    padded, _ = yuyv_frame(chelsea, 352)
    write("chelsea_160x120_pad.yuyv", padded)

    data, decoded = nv12_frame(photo("coffee.jpg", 160, 120))
    write("coffee_160x120.nv12", data)
    references("coffee_160x120.nv12", decoded)

    grey = np.asarray(Image.open(os.path.join(PHOTOS, "astronaut.jpg")).convert("L").resize((96, 72), Image.BILINEAR))
    write("astronaut_96x72.grey", grey.tobytes())
    references("astronaut_96x72.grey", np.stack([grey] * 3, axis=-1))

    import io
    stream = b""
    for i, name in enumerate(["chelsea.jpg", "coffee.jpg", "astronaut.jpg"]):
        buf = io.BytesIO()
        Image.fromarray(photo(name, 160, 120).astype(np.uint8)).save(buf, "JPEG", quality=85)
        stream += buf.getvalue()
        decoded = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        references(f"photos_160x120.mjpeg.{i}", decoded)
        # the camera path decodes at the smallest DCT scale still as large as the resize needs:
        # 1/2 here (80x60 >= 64x48 and >= 56x56), as Pillow's draft picks it
        draft = Image.open(io.BytesIO(buf.getvalue()))
        draft.draft("RGB", (80, 60))
        scaled = np.asarray(draft.convert("RGB"))
        assert scaled.shape == (60, 80, 3), scaled.shape
        references(f"photos_160x120.mjpeg.{i}.dct2", scaled)
    write("photos_160x120.mjpeg", stream)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()
