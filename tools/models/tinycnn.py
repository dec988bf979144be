"""Shared code for the two small labelled sets, tools/models/digits.py and tools/models/lfw.py.

Each of them turns a labelled greyscale set that ships inside a PyPI package into
  models/<set>/test/<class>/<index>.jpg          the whole held-out split (greyscale JPEG, q100)
  models/<set>/calibration/<class>/<index>.jpg   a few images per class from the TRAIN split
  models/onnx/<onnx name>.onnx                   a small CNN trained here, opset 17, batch 1
  models/<set>/README.md                         generated: split, counts, accuracy, commands
and measures the float accuracy of the ONNX file with onnxruntime on the decoded test JPEGs.

Not a script: run digits.py or lfw.py (same flags: --check, --eval).

Everything is deterministic: fixed split seed, torch.manual_seed, torch.use_deterministic_algorithms,
one thread, sorted file lists, onnx SerializeToString(deterministic=True). The bytes still depend
on the pinned versions (torch 2.13.0+cpu, onnx, Pillow's libjpeg, numpy), like export.py's.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OPSET = 17  # asked for by the lead; the importer accepts 11...21 and these ops are the same as at 13
JPEG_QUALITY = 100
SPLIT_SEED = 0
TEST_SIZE = 0.3


@dataclass
class LabelledSet:
    key: str                    # folder under models/, e.g. "digits"
    onnx_name: str              # models/onnx/<onnx_name>.onnx
    model_name: str             # swiftlet.name
    values: np.ndarray          # [N, H, W] float, the package's values
    scale: float                # pixel = floor(value * scale + 0.5)
    labels: np.ndarray          # [N] int, 0..C-1; the class folder is str(label)
    n_classes: int
    calib_per_class: int
    seed: int                   # torch seed for initialisation and batch order
    epochs: int
    lr: float
    weight_decay: float
    batch: int
    source: str                 # for swiftlet.source
    licence: str                # for swiftlet.licence
    script: str                 # tools/models/<script>.py
    readme: callable = None     # (facts dict) -> README text


# ------------------------------------------------------------------------------------------------
# Images
# ------------------------------------------------------------------------------------------------
def to_u8(values: np.ndarray, scale: float) -> np.ndarray:
    # Round half up, explicitly: np.round rounds half to even, and lfw_subset has exact .5 cases
    # (v * 255 lands on k + 0.5 for ~2% of its pixels), so "round" must be pinned down.
    return np.clip(np.floor(values * scale + 0.5), 0, 255).astype(np.uint8)


def encode_jpeg(u8: np.ndarray) -> bytes:
    buf = io.BytesIO()
    # subsampling=0 (4:4:4) is a no-op for one channel but keeps the encoder call explicit.
    Image.fromarray(u8, mode="L").save(buf, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    return buf.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    """What a JPEG decoder gives (Pillow's libjpeg, default integer IDCT): the model is trained and
    evaluated on these pixels, not on the package's exact values, since that is what Swiftlet sees."""
    im = Image.open(io.BytesIO(data))
    im.load()
    if im.mode != "L":
        raise ValueError(f"expected a greyscale JPEG, got mode {im.mode}")
    return np.asarray(im, dtype=np.uint8)


def split(ls: LabelledSet) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(ls.labels))
    tr, te = train_test_split(idx, test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=ls.labels)
    return np.sort(tr), np.sort(te)  # index order from here on: the split decides membership only


def calibration_indices(ls: LabelledSet, train_idx: np.ndarray) -> np.ndarray:
    """The first `calib_per_class` train images of each class, in index order."""
    out = []
    for c in range(ls.n_classes):
        members = train_idx[ls.labels[train_idx] == c]
        if len(members) < ls.calib_per_class:
            raise ValueError(f"class {c} has only {len(members)} train images")
        out.extend(members[: ls.calib_per_class].tolist())
    return np.array(sorted(out))


def rel_jpeg(ls: LabelledSet, part: str, i: int) -> str:
    return f"models/{ls.key}/{part}/{int(ls.labels[i])}/{i:04d}.jpg"


# ------------------------------------------------------------------------------------------------
# Model
# ------------------------------------------------------------------------------------------------
def make_model(n_classes: int, side: int):
    import torch.nn as nn

    s = side // 2 // 2  # two 2x2 max pools, floor: 8 -> 4 -> 2, 25 -> 12 -> 6
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * s * s, 32), nn.ReLU(),
        nn.Linear(32, n_classes),
    )


def set_determinism(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # the sums in conv/matmul backward are then in one fixed order


def train(ls: LabelledSet, x_u8: np.ndarray, y: np.ndarray):
    """AdamW on x/255 (the input the ONNX file documents), seeded init and batch order."""
    import torch
    import torch.nn.functional as F

    set_determinism(ls.seed)
    side = x_u8.shape[-1]
    model = make_model(ls.n_classes, side)
    x = torch.from_numpy(x_u8.astype(np.float32) / np.float32(255)).reshape(-1, 1, side, side)
    t = torch.from_numpy(y.astype(np.int64))
    opt = torch.optim.AdamW(model.parameters(), lr=ls.lr, weight_decay=ls.weight_decay)
    gen = torch.Generator().manual_seed(ls.seed)  # batch order: own generator, not the global one
    model.train()
    for _ in range(ls.epochs):
        perm = torch.randperm(len(t), generator=gen)
        for b in range(0, len(t), ls.batch):
            j = perm[b:b + ls.batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[j]), t[j])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        train_acc = float((model(x).argmax(1) == t).float().mean())
    return model, train_acc, float(loss.detach())


def export_onnx(ls: LabelledSet, model, side: int) -> bytes:
    import onnx
    import torch

    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, 1, side, side),), buf, input_names=["input"],
                          output_names=["logits"], opset_version=OPSET, dynamo=False,
                          do_constant_folding=True, export_params=True)
    m = onnx.load_from_string(buf.getvalue())
    m.doc_string = (f"Swiftlet fixture '{ls.model_name}' (trained weights). Made by {ls.script}.")
    # Same keys and value formats as tools/models/export.py (mean/std as JSON lists in 0-255 units).
    # The runtime feeds a 1-channel model the luma (Pillow "L"); mean/std still have 3 entries
    # because the importer wants three numbers, all equal: input = (L - 0) / 255.
    props = {
        "swiftlet.name": ls.model_name,
        "swiftlet.weights": f"trained (seed {ls.seed})",
        "swiftlet.source": ls.source,
        "swiftlet.licence": ls.licence,
        "swiftlet.task": "classification",
        "swiftlet.mean": json.dumps([0, 0, 0]),
        "swiftlet.std": json.dumps([255, 255, 255]),
        "swiftlet.colour": "rgb",
    }
    del m.metadata_props[:]
    for k, v in props.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m, full_check=True)
    return m.SerializeToString(deterministic=True)


def ort_session(onnx_bytes: bytes):
    import onnxruntime as ort

    # As tools/goldens/make_goldens.py: no graph optimisation, one thread.
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_bytes, so, providers=["CPUExecutionProvider"])


def ort_accuracy(onnx_bytes: bytes, test_files: dict[str, bytes]) -> tuple[int, int, np.ndarray]:
    """Runs every test JPEG (sorted paths, batch 1) through ORT; the label is the class folder."""
    sess = ort_session(onnx_bytes)
    correct, n = 0, 0
    logits = []
    for rel in sorted(test_files):
        u8 = decode_jpeg(test_files[rel])
        x = (u8.astype(np.float32) / np.float32(255))[None, None]
        out = sess.run(["logits"], {"input": x})[0]
        logits.append(out[0])
        correct += int(out[0].argmax()) == int(rel.split("/")[-2])
        n += 1
    return correct, n, np.stack(logits)


def onnx_ops(onnx_bytes: bytes) -> list[str]:
    import onnx

    return sorted({n.op_type for n in onnx.load_from_string(onnx_bytes).graph.node})


# ------------------------------------------------------------------------------------------------
# The whole pipeline
# ------------------------------------------------------------------------------------------------
def build(ls: LabelledSet, verbose: bool = True) -> dict[str, bytes]:
    """Returns {repo-relative path: bytes} for every file the set owns (JPEGs, ONNX, README)."""
    import torch

    t0 = time.time()
    u8 = to_u8(ls.values, ls.scale)
    side = u8.shape[-1]
    tr, te = split(ls)
    cal = calibration_indices(ls, tr)
    # Every image goes through the JPEG encoder and decoder, train images too (only in memory):
    # the model must learn what a decoder gives, since that is all Swiftlet will ever feed it.
    jpegs = {i: encode_jpeg(u8[i]) for i in range(len(u8))}
    decoded = np.stack([decode_jpeg(jpegs[i]) for i in range(len(u8))])
    files = {rel_jpeg(ls, "test", i): jpegs[i] for i in te}
    files.update({rel_jpeg(ls, "calibration", i): jpegs[i] for i in cal})

    model, train_acc, last_loss = train(ls, decoded[tr], ls.labels[tr])
    t_train = time.time() - t0
    onnx_bytes = export_onnx(ls, model, side)
    if export_onnx(ls, model, side) != onnx_bytes:
        raise RuntimeError("ONNX export is not deterministic (two exports differ)")
    onnx_rel = f"models/onnx/{ls.onnx_name}.onnx"
    files[onnx_rel] = onnx_bytes

    test_files = {k: v for k, v in files.items() if k.startswith(f"models/{ls.key}/test/")}
    correct, n, ort_logits = ort_accuracy(onnx_bytes, test_files)
    # Torch on the same decoded pixels, same order, for the torch-vs-ORT difference.
    order = sorted(test_files)
    xt = torch.from_numpy(np.stack([decode_jpeg(test_files[r]) for r in order]).astype(np.float32)
                          / np.float32(255))[:, None]
    with torch.no_grad():
        torch_logits = model(xt).numpy()
    max_diff = float(np.abs(torch_logits - ort_logits).max())
    torch_correct = int(sum(int(torch_logits[k].argmax()) == int(r.split("/")[-2]) for k, r in enumerate(order)))
    per_class = {}
    for k, r in enumerate(order):
        c = int(r.split("/")[-2])
        ok, tot = per_class.get(c, (0, 0))
        per_class[c] = (ok + (int(ort_logits[k].argmax()) == c), tot + 1)

    top2 = np.sort(ort_logits, axis=1)[:, -2:]
    err = np.abs(decoded.astype(int) - u8.astype(int))
    facts = dict(
        jpeg_err_max=int(err.max()), jpeg_err_frac=float((err > 0).mean()),
        min_margin=float((top2[:, 1] - top2[:, 0]).min()),
        n_total=len(u8), n_train=len(tr), n_test=len(te), n_cal=len(cal), side=side,
        train_counts=np.bincount(ls.labels[tr], minlength=ls.n_classes).tolist(),
        test_counts=np.bincount(ls.labels[te], minlength=ls.n_classes).tolist(),
        train_acc=train_acc, last_loss=last_loss, correct=correct, n=n, torch_correct=torch_correct,
        max_diff=max_diff, per_class=per_class, ops=onnx_ops(onnx_bytes),
        params=sum(p.numel() for p in model.parameters()), onnx_size=len(onnx_bytes),
        onnx_sha=hashlib.sha256(onnx_bytes).hexdigest(), onnx_rel=onnx_rel,
        jpeg_bytes=sum(len(files[r]) for r in files if r.endswith(".jpg")),
    )
    files[f"models/{ls.key}/README.md"] = ls.readme(ls, facts)
    if verbose:
        print(f"{ls.key}: {len(tr)} train / {len(te)} test / {len(cal)} calibration images, "
              f"{facts['params']:,d} params, trained in {t_train:.1f}s (train acc {train_acc:.4f})")
        print(f"{onnx_rel}: {len(onnx_bytes):,d} B, opset {OPSET}, ops {', '.join(facts['ops'])}, "
              f"sha256 {facts['onnx_sha'][:16]}, deterministic export")
        print(f"torch vs ORT max |diff| on the test logits: {max_diff:.2e}; torch top-1 {torch_correct}/{n}")
        print(f"ORT float test accuracy: {correct}/{n} = {correct / n:.4f}")
    return files


def files_on_disk(ls: LabelledSet, root: str) -> dict[str, str]:
    """repo-relative path -> absolute path, for every file this set owns under root."""
    out = {}
    base = os.path.join(root, "models", ls.key)
    for part in ("test", "calibration"):
        for dirpath, _, names in os.walk(os.path.join(base, part)):
            for fn in names:
                p = os.path.join(dirpath, fn)
                out[os.path.relpath(p, root)] = p
    for rel in (f"models/{ls.key}/README.md", f"models/onnx/{ls.onnx_name}.onnx"):
        if os.path.exists(os.path.join(root, rel)):
            out[rel] = os.path.join(root, rel)
    return out


def write(files: dict[str, bytes], root: str, ls: LabelledSet) -> None:
    stale = sorted(set(files_on_disk(ls, root)) - set(files))
    for rel in stale:  # e.g. after a change of split: only our own test/ and calibration/ files
        os.remove(os.path.join(root, rel))
        print(f"removed stale {rel}")
    for rel in sorted(files):
        p = os.path.join(root, rel)
        data = files[rel] if isinstance(files[rel], bytes) else files[rel].encode()
        if os.path.exists(p) and open(p, "rb").read() == data:
            continue
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p + ".part", "wb") as f:
            f.write(data)
        os.replace(p + ".part", p)


def sha(data) -> str:
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


def check(ls: LabelledSet) -> int:
    """Rebuilds everything into a temp dir and compares sha256 with the committed files."""
    with tempfile.TemporaryDirectory() as tmp:
        files = build(ls)
        write(files, tmp, ls)
        fresh = files_on_disk(ls, tmp)
        committed = files_on_disk(ls, REPO)
        same, differ = 0, []
        for rel in sorted(set(fresh) | set(committed)):
            if rel not in committed:
                differ.append(f"missing in the repo: {rel}")
            elif rel not in fresh:
                differ.append(f"not produced by a fresh run: {rel}")
            else:
                a, b = sha(open(fresh[rel], "rb").read()), sha(open(committed[rel], "rb").read())
                if a == b:
                    same += 1
                else:
                    differ.append(f"DIFFERS: {rel} (fresh {a[:16]}, committed {b[:16]})")
    for d in differ:
        print(d, file=sys.stderr)
    print(f"check: {same} file(s) byte-identical to the committed ones, {len(differ)} differ or are missing")
    return 1 if differ else 0


def evaluate_committed(ls: LabelledSet) -> int:
    """Only ORT on the committed ONNX file and the committed test JPEGs: no training."""
    onnx_path = os.path.join(REPO, "models", "onnx", f"{ls.onnx_name}.onnx")
    test_dir = os.path.join(REPO, "models", ls.key, "test")
    test_files = {}
    for rel, p in files_on_disk(ls, REPO).items():
        if rel.startswith(f"models/{ls.key}/test/"):
            test_files[rel] = open(p, "rb").read()
    if not test_files or not os.path.exists(onnx_path):
        print(f"{onnx_path} or {test_dir} is missing: run {ls.script} first", file=sys.stderr)
        return 1
    correct, n, _ = ort_accuracy(open(onnx_path, "rb").read(), test_files)
    print(f"{ls.onnx_name}.onnx on models/{ls.key}/test ({n} JPEGs, onnxruntime float, batch 1): "
          f"top-1 {correct}/{n} = {correct / n:.4f}")
    return 0


def main(ls_factory, doc: str) -> int:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help="rebuild into a temp dir and compare sha256 with the committed files; exit 1 if any differ")
    ap.add_argument("--eval", action="store_true",
                    help="only measure the committed ONNX file on the committed test JPEGs (onnxruntime)")
    args = ap.parse_args()
    ls = ls_factory()
    if args.eval:
        return evaluate_committed(ls)
    if args.check:
        return check(ls)
    write(build(ls), REPO, ls)
    return 0
