"""The camera path's cost per frame: Swiftlet's pre-processing beside OpenCV's, same frames, same run.

    tools/bench/preprocess [--rounds 20] [--iterations 50] [--core 1] [--json]

Frames: four 640x480 frames made from shipped photos (astronaut, chelsea, coffee, motorcycle in
models/photos, stretched with Pillow's bicubic filter), as a USB camera sends them: MJPEG (JPEG quality
85, 4:2:0, baseline) and YUYV (packed 4:2:2, BT.601 limited range, chroma averaged over each pixel
pair). Inputs: 128x128, 224x224 and 320x320, stretched, 3 channels, float32 NHWC normalised with
ImageNet's mean and std, which is what a model's input tensor holds.

Swiftlet's side is `swiftlet-preprocess-bench` (Sources/swiftlet-preprocess-bench), which times
`FrameInput.load`, the code `run --camera` and `--video` run per frame: libjpeg decoding at the DCT
scale the resize needs (1/2 for 224 from 640x480), or YUYV converted row by row inside the resize;
Pillow's antialiased bilinear resize, exactly; the normalisation into the input.

OpenCV's side, in this process, is the pipeline the issue names, written as a Python user would:
`cv2.imdecode` (BGR, full size) + `cv2.cvtColor(BGR2RGB)` + `cv2.resize(INTER_LINEAR)` +
normalisation (`(x.astype(float32) - mean) * (1 / std)` in numpy, mean and std in 0-255 units), and
for YUYV `cv2.cvtColor(COLOR_YUV2RGB_YUYV)` + the same resize and normalisation. Two more OpenCV rows
are printed for reference, not for the goal: `cv2.IMREAD_REDUCED_COLOR_2` (libjpeg's 1/2 DCT scale,
as Swiftlet uses) and `cv2.INTER_AREA` (an antialiased resize, closer to what Swiftlet computes:
INTER_LINEAR reads 2 of every 3-5 source pixels when it shrinks, so its results alias).

Both sides run pinned to one core (`taskset -c CORE`), interleaved: each round times `--iterations`
frames of every Swiftlet case, then as many of each OpenCV case; each figure is the median over all
rounds. The goal (issue #14): Swiftlet <= 0.5 x OpenCV and <= 2 ms per 640x480 frame. A benchmark, not
a test: nothing asserts on time.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
W, H = 640, 480
SIZES = [128, 224, 320]
PHOTOS = ["astronaut", "chelsea", "coffee", "motorcycle"]
MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255
INV_STD = 1 / (np.array([0.229, 0.224, 0.225], np.float32) * 255)


def fail(msg: str) -> None:
    raise SystemExit(f"preprocess: error: {msg}")


def yuyv_from_rgb(rgb: np.ndarray) -> bytes:
    """Packed YUYV, BT.601 limited range (the inverse of the formulas heading Sources/SwiftletVision/Frame.swift)."""
    f = rgb.astype(np.float64)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256
    u = 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256
    v = 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256
    u = (u[:, 0::2] + u[:, 1::2]) / 2
    v = (v[:, 0::2] + v[:, 1::2]) / 2
    out = np.empty((rgb.shape[0], rgb.shape[1] // 2, 4), np.uint8)
    out[..., 0] = np.clip(np.rint(y[:, 0::2]), 0, 255)
    out[..., 1] = np.clip(np.rint(u), 0, 255)
    out[..., 2] = np.clip(np.rint(y[:, 1::2]), 0, 255)
    out[..., 3] = np.clip(np.rint(v), 0, 255)
    return out.tobytes()


def make_frames(tmp: str) -> tuple[list[str], list[bytes], list[bytes]]:
    paths, jpegs, yuyvs = [], [], []
    for name in PHOTOS:
        rgb = Image.open(REPO / "models" / "photos" / f"{name}.jpg").convert("RGB").resize((W, H), Image.BICUBIC)
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", quality=85)
        jpegs.append(buf.getvalue())
        yuyvs.append(yuyv_from_rgb(np.asarray(rgb)))
        for ext, data in (("jpg", jpegs[-1]), ("yuyv", yuyvs[-1])):
            p = os.path.join(tmp, f"{name}.{ext}")
            Path(p).write_bytes(data)
            paths.append(p)
    return paths, jpegs, yuyvs


class SwiftSide:
    """swiftlet-preprocess-bench as a child process answering 'run N'."""

    def __init__(self, cmd: list[str]):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.cases = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                fail(f"{' '.join(cmd)}: {self.p.stderr.read().strip()}")
            if line.strip() == "ready":
                break
            _, fmt, size = line.split()
            self.cases.append((fmt, int(size)))

    def run(self, n: int) -> list[list[int]]:
        self.p.stdin.write(f"run {n}\n")
        self.p.stdin.flush()
        return [[int(x) for x in self.p.stdout.readline().split()] for _ in self.cases]

    def close(self) -> None:
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        self.p.wait()


def opencv_cases(jpegs: list[bytes], yuyvs: list[bytes]):
    """(name, format, size, function of the frame index) for every OpenCV case."""
    jbufs = [np.frombuffer(j, np.uint8) for j in jpegs]
    ybufs = [np.frombuffer(y, np.uint8).reshape(H, W, 2) for y in yuyvs]

    def normalise(x):
        return (x.astype(np.float32) - MEAN) * INV_STD

    cases = []
    for s in SIZES:
        def mjpeg(i, s=s, flag=cv2.IMREAD_COLOR, interp=cv2.INTER_LINEAR):
            bgr = cv2.imdecode(jbufs[i % len(jbufs)], flag)
            return normalise(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (s, s), interpolation=interp))

        def yuyv(i, s=s, interp=cv2.INTER_LINEAR):
            rgb = cv2.cvtColor(ybufs[i % len(ybufs)], cv2.COLOR_YUV2RGB_YUYV)
            return normalise(cv2.resize(rgb, (s, s), interpolation=interp))

        cases.append(("opencv", "mjpeg", s, mjpeg))
        cases.append(("opencv", "yuyv", s, yuyv))
        cases.append(("opencv reduced_2", "mjpeg", s, lambda i, s=s: mjpeg(i, s, cv2.IMREAD_REDUCED_COLOR_2)))
        cases.append(("opencv inter_area", "mjpeg", s, lambda i, s=s: mjpeg(i, s, interp=cv2.INTER_AREA)))
        cases.append(("opencv inter_area", "yuyv", s, lambda i, s=s: yuyv(i, s, cv2.INTER_AREA)))
    return cases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--bin", required=True, help="the directory of swiftlet-preprocess-bench")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths, jpegs, yuyvs = make_frames(tmp)
        swift = SwiftSide([os.path.join(a.bin, "swiftlet-preprocess-bench"), str(W), str(H), ",".join(map(str, SIZES))] + paths)
        cv = opencv_cases(jpegs, yuyvs)
        for _, _, _, f in cv:
            for i in range(len(PHOTOS)):
                f(i)
        st = [[] for _ in swift.cases]
        ct = [[] for _ in cv]
        for r in range(a.rounds):
            for k, v in enumerate(swift.run(a.iterations)):
                st[k] += v
            for k, (_, _, _, f) in enumerate(cv):
                for i in range(a.iterations):
                    t0 = time.perf_counter_ns()
                    f(r * a.iterations + i)
                    ct[k].append(time.perf_counter_ns() - t0)
        swift.close()
    ms = lambda v: statistics.median(v) / 1e6  # noqa: E731
    rows = []
    for k, (fmt, s) in enumerate(swift.cases):
        row = {"format": fmt, "input": s, "swiftlet_ms": ms(st[k])}
        for j, (name, f2, s2, _) in enumerate(cv):
            if f2 == fmt and s2 == s:
                row[name.replace(" ", "_") + "_ms"] = ms(ct[j])
        row["ratio"] = row["swiftlet_ms"] / row["opencv_ms"]
        rows.append(row)
    if a.json:
        print(json.dumps({"frame": f"{W}x{H}", "frames": PHOTOS, "rounds": a.rounds, "iterations": a.iterations,
                          "opencv": cv2.__version__, "rows": rows}, indent=1))
        return 0
    print(f"{W}x{H} frames ({', '.join(PHOTOS)}), to float32 NHWC inputs, one core; medians of {a.rounds} x {a.iterations} frames")
    print(f"OpenCV {cv2.__version__}: imdecode + cvtColor + resize (INTER_LINEAR) + numpy normalisation")
    print(f"{'format':7} {'input':>7} {'swiftlet ms':>12} {'opencv ms':>10} {'ratio':>6}   {'opencv reduced_2':>16} {'opencv inter_area':>17}")
    for r in rows:
        red = f"{r['opencv_reduced_2_ms']:.3f}" if "opencv_reduced_2_ms" in r else "-"
        print(f"{r['format']:7} {r['input']:>4}^2 {r['swiftlet_ms']:>12.3f} {r['opencv_ms']:>10.3f} {r['ratio']:>6.2f}   {red:>16} {r['opencv_inter_area_ms']:>17.3f}")
    print("goal: ratio <= 0.5 and swiftlet <= 2 ms per frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
