#!/usr/bin/env python3
"""Tiny NumPy-written .npy files for Tests/SwiftletTests/NPYTests.swift (Tests/Fixtures/npy/).

Never hand-edit the fixtures; re-run:
    /root/.cache/swiftlet/venv/bin/python tools/goldens/make_npy_fixtures.py
The values are repeated in NPYTests.swift.
"""
import os

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "Tests", "Fixtures", "npy")


def main():
    os.makedirs(OUT, exist_ok=True)
    # float32 (1, 3, 2, 2): -1.5, -1.25, ... in steps of 0.25, plus two values that are not exact in binary
    f32 = (np.arange(12, dtype=np.float32) * np.float32(0.25) - np.float32(1.5)).reshape(1, 3, 2, 2)
    f32[0, 2, 1, 0] = np.float32(0.1)
    f32[0, 2, 1, 1] = np.float32(-3.4028235e38)
    np.save(os.path.join(OUT, "f32_1x3x2x2.npy"), f32)
    np.save(os.path.join(OUT, "u8_2x3.npy"), np.array([[0, 1, 127], [128, 254, 255]], dtype=np.uint8))
    np.save(os.path.join(OUT, "i64_scalar.npy"), np.array(-1234567890123, dtype=np.int64))
    with open(os.path.join(OUT, "f64_4_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, np.array([1.5, -2.25, 1e-3, 3.0e100], dtype=np.float64), version=(2, 0))
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == "__main__":
    main()
