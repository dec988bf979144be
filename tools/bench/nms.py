"""Decode + NMS per frame: Swiftlet's detector beside OpenCV's cv2.dnn.NMSBoxes, same boxes, same run.

    tools/bench/nms [--rounds 30] [--iterations 200] [--core 1]

Cases:

* BlazeFace, 896 anchors: `swiftlet import models/onnx/blazeface.onnx --decoder blazeface`, run by
  Swiftlet's own pre-processing and interpreter on every shipped photo in models/photos (the real
  raw outputs of the real model); the frames are taken in turn.
* RetinaFace-style, 16,800 priors (640x640, steps 8/16/32, min sizes [16, 32], [64, 128], [256, 512],
  variances 0.1/0.2, five landmarks): synthetic raw outputs with the real layout
  (tools/detect/retinaface_reference.py `synthetic`, fixed seeds): 40 true faces, each with a cluster of
  overlapping high-score priors regressed onto it, every other prior a background score with noisy
  offsets; four frames (seeds 1-4) taken in turn.

Swiftlet's side is `swiftlet-nms-bench` (Sources/swiftlet-nms-bench): `Detector.decode` (scores,
threshold, box and keypoint decoding) and `Detector.suppress` (ordering, NMS, mapping to pixels)
timed per frame with the monotonic clock. OpenCV's side, in this process: the same frame's boxes
decoded by numpy (the reference decoder, vectorised, timed on its own and labelled so), then
`cv2.dnn.NMSBoxes` on the candidates (boxes at or above the score threshold, as (x, y, w, h) in input
pixels) with the same score and IoU thresholds, timed per call with perf_counter_ns (this includes
the Python-to-C++ conversion of the candidate arrays, which is how Python users call it). NMS is hard
NMS on both sides (OpenCV has no weighted NMS); a BlazeFace row with Swiftlet's weighted NMS (its
default) is printed for reference.

Both sides run in one process tree pinned to one core (`taskset -c CORE`), interleaved: each round
times `--iterations` frames of Swiftlet, then as many of OpenCV, then the numpy decode. Each figure is
the median over all rounds. The detection counts of the two NMS are printed and compared (they
must agree: same boxes, same thresholds). A benchmark, not a test: nothing asserts on time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "detect"))
import reference  # noqa: E402
import retinaface_reference as rf  # noqa: E402

import cv2  # noqa: E402


def fail(msg: str) -> None:
    raise SystemExit(f"nms: error: {msg}")


def run(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"{' '.join(cmd)} failed (exit {out.returncode}):\n{out.stderr.strip()}")
    return out.stdout


class SwiftSide:
    """swiftlet-nms-bench as a child process answering 'run N'."""

    def __init__(self, cmd: list[str]):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.frames = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                fail(f"{' '.join(cmd)}: {self.p.stderr.read().strip()}")
            if line.strip() == "ready":
                break
            w = line.split()
            self.frames.append({"candidates": int(w[3]), "detections": int(w[5])})

    def run(self, n: int):
        self.p.stdin.write(f"run {n}\n")
        self.p.stdin.flush()
        total = [int(x) for x in self.p.stdout.readline().split()]
        nms = [int(x) for x in self.p.stdout.readline().split()]
        return total, nms

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        self.p.wait()


class CVSide:
    """numpy decode + cv2.dnn.NMSBoxes on each frame's boxes."""

    def __init__(self, decode, frames, score_threshold, iou_threshold, input_wh):
        self.decode, self.frames = decode, frames
        self.st, self.it = score_threshold, iou_threshold
        self.wh = np.array(input_wh * 2, np.float32)
        self.inputs = []
        self.counts = []
        for f in frames:
            boxes, scores = self.candidates(f)
            self.inputs.append((boxes, scores))
            self.counts.append(len(cv2.dnn.NMSBoxes(boxes, scores, self.st, self.it)))

    def candidates(self, f):
        """Boxes at or above the threshold as (x, y, w, h) in input pixels (float64), and scores."""
        boxes, scores = self.decode(f)
        keep = scores >= self.st
        b = boxes[keep] * self.wh
        xywh = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1).astype(np.float64)
        return xywh, scores[keep].astype(np.float64)

    def run(self, n: int, start: int):
        nms, dec = [], []
        for i in range(n):
            boxes, scores = self.inputs[(start + i) % len(self.frames)]
            t0 = time.perf_counter_ns()
            cv2.dnn.NMSBoxes(boxes, scores, self.st, self.it)
            nms.append(time.perf_counter_ns() - t0)
        for i in range(max(n // 4, 1)):
            f = self.frames[(start + i) % len(self.frames)]
            t0 = time.perf_counter_ns()
            self.decode(f)
            dec.append(time.perf_counter_ns() - t0)
        return nms, dec


def blazeface_decode(anchors):
    o = reference.DECODE_OPTIONS

    def decode(f):
        raw_boxes, raw_scores = f
        s = np.clip(raw_scores[:, 0], -o["score_clipping_thresh"], o["score_clipping_thresh"])
        with np.errstate(over="ignore"):
            score = (1 / (1 + np.exp(-s))).astype(np.float32)
        b = raw_boxes[:, :4] / np.float32(128)
        cx = b[:, 0] * anchors[:, 2] + anchors[:, 0]
        cy = b[:, 1] * anchors[:, 3] + anchors[:, 1]
        w, h = b[:, 2] * anchors[:, 2], b[:, 3] * anchors[:, 3]
        kp = raw_boxes[:, 4:16].reshape(-1, 6, 2) / np.float32(128) * anchors[:, None, 2:] + anchors[:, None, :2]  # noqa: F841
        return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1), score

    return decode


def retinaface_decode(pri):
    v0, v1 = np.float32(rf.VARIANCES[0]), np.float32(rf.VARIANCES[1])

    def decode(f):
        loc, conf, landm = f
        c = conf - conf.max(axis=1, keepdims=True)
        e = np.exp(c)
        score = e[:, 1] / e.sum(axis=1)
        cxy = pri[:, :2] + loc[:, :2] * v0 * pri[:, 2:]
        wh = pri[:, 2:] * np.exp(loc[:, 2:] * v1)
        kp = pri[:, None, :2] + landm.reshape(-1, 5, 2) * v0 * pri[:, None, 2:]  # noqa: F841
        x0y0 = cxy - wh / 2
        return np.concatenate([x0y0, x0y0 + wh], axis=1), score

    return decode


def measure(name, anchors, swift: SwiftSide, cv: CVSide | None, rounds, iterations):
    totals, nmss, cvs, decs = [], [], [], []
    start = 0
    for _ in range(rounds):
        t, n = swift.run(iterations)
        totals += t
        nmss += n
        if cv is not None:
            c, d = cv.run(iterations, start)
            cvs += c
            decs += d
        start += iterations
    swift.close()
    ms = lambda v: statistics.median(v) / 1e6  # noqa: E731
    row = {"case": name, "anchors": anchors, "frames": len(swift.frames),
           "candidates": f"{min(f['candidates'] for f in swift.frames)}-{max(f['candidates'] for f in swift.frames)}",
           "swift_total": ms(totals), "swift_nms": ms(nmss), "swift_det": [f["detections"] for f in swift.frames]}
    if cv is not None:
        row.update(cv_nms=ms(cvs), np_decode=ms(decs), cv_det=cv.counts)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--bin", required=True, help="the directory of swiftlet and swiftlet-nms-bench")
    a = ap.parse_args()
    bench = os.path.join(a.bin, "swiftlet-nms-bench")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # BlazeFace: the real model on the shipped photos.
        swl = os.path.join(tmp, "blazeface.swl")
        run([os.path.join(a.bin, "swiftlet"), "import", str(REPO / "models/onnx/blazeface.onnx"), "-o", swl, "--decoder", "blazeface"])
        photos = sorted(str(p) for p in (REPO / "models/photos").glob("*.jpg"))
        anchors = reference.ssd_anchors(reference.ANCHOR_OPTIONS)
        for kind in ("hard", "weighted"):
            swift = SwiftSide([bench, "blazeface", swl, tmp, kind] + photos)
            cv = None
            if kind == "hard":
                frames = [(np.fromfile(f"{tmp}/{i}.out0.f32", np.float32).reshape(896, 16),
                           np.fromfile(f"{tmp}/{i}.out1.f32", np.float32).reshape(896, 1)) for i in range(len(photos))]
                cv = CVSide(blazeface_decode(anchors), frames, 0.5, 0.3, (128, 128))
            rows.append(measure(f"BlazeFace, {len(photos)} photos, {kind} NMS", 896, swift, cv, a.rounds, a.iterations))
        # RetinaFace-style: synthetic outputs at 640x640.
        prefixes, frames = [], []
        for seed in (1, 2, 3, 4):
            loc, conf, landm, pri, _ = rf.synthetic(640, 640, faces=40, seed=seed)
            prefix = f"{tmp}/rf{seed}"
            for k, arr in enumerate((loc, conf, landm)):
                arr.tofile(f"{prefix}.out{k}.f32")
            prefixes.append(prefix)
            frames.append((loc[0], conf[0], landm[0]))
        swift = SwiftSide([bench, "retinaface", "640", "640", "hard"] + prefixes)
        cv = CVSide(retinaface_decode(pri), frames, 0.5, 0.4, (640, 640))
        rows.append(measure("RetinaFace-style 640x640, 40 faces, hard NMS", len(pri), swift, cv, a.rounds, a.iterations))

    print(f"decode + NMS per frame, median of {a.rounds} rounds x {a.iterations} frames, one core; "
          f"OpenCV {cv2.__version__}, numpy {np.__version__}")
    print()
    print("| case | anchors | candidates | Swiftlet decode+NMS ms | Swiftlet NMS ms | OpenCV NMSBoxes ms | "
          "numpy decode ms (OpenCV's input) | OpenCV NMS / Swiftlet NMS | OpenCV NMS / Swiftlet decode+NMS | "
          "detections (Swiftlet / OpenCV) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "cv_nms" in r:
            same = "same" if r["swift_det"] == r["cv_det"] else f"DIFFER {r['swift_det']} / {r['cv_det']}"
            print(f"| {r['case']} | {r['anchors']:,} | {r['candidates']} | {r['swift_total']:.4f} | {r['swift_nms']:.4f} | "
                  f"{r['cv_nms']:.4f} | {r['np_decode']:.4f} | {r['cv_nms'] / r['swift_nms']:.1f}x | {r['cv_nms'] / r['swift_total']:.1f}x | "
                  f"{sum(r['swift_det'])} / {sum(r['cv_det'])} ({same}) |")
        else:
            print(f"| {r['case']} | {r['anchors']:,} | {r['candidates']} | {r['swift_total']:.4f} | {r['swift_nms']:.4f} | - | - | - | - | "
                  f"{sum(r['swift_det'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
