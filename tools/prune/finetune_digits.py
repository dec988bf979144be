#!/usr/bin/env python3
"""Fine-tune a (pruned) float digits classifier given as ONNX, and write it back as ONNX (#17).

    VENV=$(tools/prune/setup.sh)
    $VENV/bin/python tools/prune/finetune_digits.py pruned.onnx -o pruned_ft.onnx
    $VENV/bin/python tools/prune/finetune_digits.py models/onnx/digits_lenet.onnx --check-only   # converter check

The input is a float ONNX file as `swiftlet prune --export-onnx` / `swiftlet export` write it
(standard operators: Conv, Gemm or MatMul + Add, Relu, Clip, MaxPool, AveragePool,
GlobalAveragePool, Reshape / Flatten, Transpose, Add, Mul, Concat, Softmax). tools/prune/common.py's
OnnxModule turns it into a PyTorch module whose convolution and fully connected weights and
constant Add / Mul operands are trainable nn.Parameters; the script first checks that this module
reproduces onnxruntime on the 540 test images (max abs difference of the outputs, must be <= 1e-5
relative to the largest logit).

Data: exactly tools/models/digits.py's: sklearn load_digits, train_test_split(test_size=0.3,
random_state=0, stratify=y) -> 1257 train / 540 test, pixels floor(v * 255 / 16 + 0.5), a JPEG
round trip (Pillow, quality 100), input x / 255 (tools/models/tinycnn.py does all of this; it is
imported, not copied). Accuracy is measured with onnxruntime on the committed test JPEGs
(models/digits/test/<class>/*.jpg) before and after.

Training: AdamW (--lr, default 3e-3, weight decay 1e-4), cosine decay to 0, batch 32, --epochs
(default 40) -- the learning rate, weight decay, batch and epochs tools/models/digits.py trained the
unpruned model with --, cross-entropy, torch.manual_seed(--seed) and a seeded generator for the batch order,
torch.use_deterministic_algorithms(True), one thread: the same input gives the same bytes.
The fine-tuned model is exported with torch.onnx.export (opset 17, batch 1, dynamo=False) under
the input file's input / output names and with its metadata_props unchanged, so `swiftlet import`
treats it as the input file; doc_string says what was done.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402

sys.path.insert(0, common.MODELS_PY)
DIGITS_TEST = os.path.join(common.REPO, "models", "digits", "test")


def train_split() -> tuple[np.ndarray, np.ndarray]:
    """(decoded u8 images [N, 8, 8], labels [N]) of digits.py's train split, after the JPEG round trip."""
    import digits
    import tinycnn

    ls = digits.make_set()
    u8 = tinycnn.to_u8(ls.values, ls.scale)
    tr, _ = tinycnn.split(ls)
    x = np.stack([tinycnn.decode_jpeg(tinycnn.encode_jpeg(u8[i])) for i in tr])
    return x, ls.labels[tr]


def test_set() -> tuple[np.ndarray, np.ndarray]:
    """The committed test JPEGs as [N, 1, 8, 8] float32 x / 255 and their labels (folder names)."""
    from PIL import Image

    xs, ys = [], []
    for d in sorted(os.listdir(DIGITS_TEST)):
        if not os.path.isdir(os.path.join(DIGITS_TEST, d)):
            continue
        for p in sorted(glob.glob(os.path.join(DIGITS_TEST, d, "*.jpg"))):
            xs.append(np.asarray(Image.open(p).convert("L"), dtype=np.float32) / np.float32(255))
            ys.append(int(d))
    return np.stack(xs)[:, None], np.asarray(ys)


def ort_logits(model_or_path, x: np.ndarray) -> np.ndarray:
    s = common.ort_session(model_or_path)
    name = s.get_inputs()[0].name
    return np.concatenate([s.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


def torch_logits(module, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="float digits classifier (ONNX, input [1, 1, 8, 8] = pixel / 255)")
    ap.add_argument("-o", "--output", help="fine-tuned ONNX file to write")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check-only", action="store_true", help="only the converter check and the accuracy")
    args = ap.parse_args()
    if not args.check_only and not args.output:
        ap.error("-o/--output is required (or --check-only)")

    import onnx
    import torch
    import torch.nn.functional as F

    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    t0 = time.time()

    src = onnx.load(args.model)
    shape = common.input_shape(src)
    if shape[1:] != [1, 8, 8]:
        raise SystemExit(f"finetune_digits.py: {args.model}: input {shape}, expected [1, 1, 8, 8]")
    module = common.onnx_to_torch(src)
    x_test, y_test = test_set()

    # 1. The converter reproduces onnxruntime.
    ref = ort_logits(src, x_test)
    got = torch_logits(module, x_test)
    diff = float(np.abs(ref - got).max())
    scale = float(np.abs(ref).max())
    print(f"converter: max |torch - ORT| = {diff:.2e} over {len(x_test)} test images "
          f"(largest |logit| {scale:.2f}, relative {diff / scale:.1e})")
    if diff > 1e-5 * max(1.0, scale):
        raise SystemExit("finetune_digits.py: the PyTorch module does not reproduce the ONNX file")
    macs = common.macs_onnx(src)["total"]
    acc0 = float(np.mean(ref.argmax(1) == y_test))
    print(f"before: test accuracy {int(np.sum(ref.argmax(1) == y_test))}/{len(y_test)} = {acc0:.4f} "
          f"(ORT; {macs:,d} MACs, {sum(p.numel() for p in module.parameters()):,d} parameters)")
    if args.check_only:
        return 0

    # 2. Fine-tune on the train split. A graph that ends in Softmax gives probabilities: the loss is
    # then the negative log of the true class's probability (cross-entropy on the logits otherwise).
    producer = {o: n.op_type for n in src.graph.node for o in n.output}
    ends_in_softmax = producer.get(src.graph.output[0].name) == "Softmax"

    def loss_fn(out, target):
        if ends_in_softmax:
            return F.nll_loss(torch.log(out.clamp_min(1e-12)), target)
        return F.cross_entropy(out, target)

    x_u8, y = train_split()
    x = torch.from_numpy(x_u8.astype(np.float32) / np.float32(255))[:, None]
    t = torch.from_numpy(y.astype(np.int64))
    opt = torch.optim.AdamW(module.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = args.epochs * ((len(t) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    gen = torch.Generator().manual_seed(args.seed)
    module.train()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(t), generator=gen)
        total = 0.0
        for b in range(0, len(t), args.batch):
            j = perm[b:b + args.batch]
            opt.zero_grad()
            loss = loss_fn(module(x[j]), t[j])
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(j)
        if epoch == 0 or (epoch + 1) % 10 == 0 or epoch + 1 == args.epochs:
            print(f"  epoch {epoch + 1:3d}: train loss {total / len(t):.4f}", flush=True)
    module.eval()
    train_acc = float((torch.from_numpy(torch_logits(module, x.numpy())).argmax(1) == t).float().mean())

    # 3. Export under the same names and metadata, and measure with ORT.
    doc = (f"{src.doc_string + ' ' if src.doc_string else ''}Fine-tuned by tools/prune/finetune_digits.py: "
           f"{args.epochs} epochs AdamW lr {args.lr:g} (cosine) wd {args.weight_decay:g} batch {args.batch} "
           f"seed {args.seed} on the digits train split.")
    props = {p.key: p.value for p in src.metadata_props}
    in_name = next(i.name for i in src.graph.input if i.name not in {t.name for t in src.graph.initializer})
    common.export_onnx(module, args.output, shape, props, input_name=in_name,
                       output_names=[o.name for o in src.graph.output], doc=doc)
    out = ort_logits(args.output, x_test)
    back = float(np.abs(out - torch_logits(module, x_test)).max())
    acc1 = float(np.mean(out.argmax(1) == y_test))
    print(f"after:  test accuracy {int(np.sum(out.argmax(1) == y_test))}/{len(y_test)} = {acc1:.4f} "
          f"(ORT on {args.output}; train accuracy {train_acc:.4f}; max |ORT - torch| {back:.1e}); "
          f"{time.time() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
