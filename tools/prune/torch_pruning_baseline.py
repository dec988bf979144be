#!/usr/bin/env python3
"""Torch-Pruning magnitude-pruning baseline for issue #17 (no fine-tuning), plus resolution scaling.

    VENV=$(tools/prune/setup.sh)       # project venv + torch-pruning (pinned)
    $VENV/bin/python tools/prune/torch_pruning_baseline.py --out build/prune-baseline
    $VENV/bin/python tools/prune/torch_pruning_baseline.py --out build/prune-baseline --models digits --targets 0.5

For each model and each MACs target (fraction of the unpruned model's MACs, default 0.75 and 0.5):
Torch-Pruning's MagnitudePruner (MetaPruner) with MagnitudeImportance (L2 by default, --norm 1 for
L1; group reduction and normalisation as its defaults), global_pruning=False, one uniform pruning
ratio for every layer (its default), the classifier (the layer producing the logits) ignored. The
ratio is found by bisection on tp.utils.count_ops_and_params so that the pruned model's MACs are
as close as possible to the target (channel counts are integers: the reached ratio is printed).
No fine-tuning. Each pruned model is exported to ONNX (opset 17, batch 1, the swiftlet.* metadata of
the original file, with name/weights/source saying what was done) as
  <out>/<model>_tp_l<p>_macs<target>.onnx
and for MobileNetV2 the resolution baselines (same weights, smaller input) as
  <out>/mobilenet_v2_res<side>.onnx            (default sides 192 and 160)
A summary is written to <out>/baseline.json and printed as a table.

Models:
  mobilenet_v2   tools/models/nets.py build_mobilenet_v2 (real ImageNet weights, ~/.cache/swiftlet/weights)
  squeezenet1_1  nets.SqueezeNet1_1 with the initializers of models/onnx/squeezenet1_1.onnx (checked
                 against ORT). NOTE: that file has RANDOM weights (seed 1011, tools/models/nets.py): no
                 real ImageNet SqueezeNet 1.1 is in the project, so its figures measure output
                 fidelity of a random network, not accuracy.
  digits         models/onnx/digits_lenet.onnx converted by tools/prune/common.py's OnnxModule.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402

ONNX_DIR = os.path.join(common.REPO, "models", "onnx")
ALL = ["mobilenet_v2", "squeezenet1_1", "digits"]
ONNX_FILE = {"mobilenet_v2": "mobilenet_v2.onnx", "squeezenet1_1": "squeezenet1_1.onnx",
             "digits": "digits_lenet.onnx"}


def load_model(name: str, cache: str | None):
    """(module in eval mode, [1, C, H, W], the classifier module to ignore, original onnx model)."""
    import onnx
    import torch

    orig = onnx.load(os.path.join(ONNX_DIR, ONNX_FILE[name]))
    shape = common.input_shape(orig)
    if name == "mobilenet_v2":
        sys.path.insert(0, common.MODELS_PY)
        import nets

        model, _ = nets.build_mobilenet_v2(cache or nets.default_cache_dir())
        head = model.classifier[-1]
    elif name == "squeezenet1_1":
        sys.path.insert(0, common.MODELS_PY)
        import nets
        from onnx import numpy_helper

        model = nets.SqueezeNet1_1()
        sd = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in orig.graph.initializer}
        # nets.SqueezeNet1_1 registers final_conv twice (also as classifier.1); the export names it once.
        sd["classifier.1.weight"], sd["classifier.1.bias"] = sd["final_conv.weight"], sd["final_conv.bias"]
        model.load_state_dict(sd, strict=True)
        model.eval()
        head = model.final_conv
    else:
        model = common.onnx_to_torch(orig)
        head = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))][-1]
    # The module must reproduce the ONNX file (same weights): check on a random input.
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    ref = common.ort_session(orig).run(None, {orig.graph.input[0].name: x})[0]
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    err = float(np.abs(ref - got).max() / max(1e-12, np.abs(ref).max()))
    if err > 1e-4:
        raise RuntimeError(f"{name}: PyTorch module differs from {ONNX_FILE[name]} (max rel. {err:.2e})")
    return model, shape, head, orig


def tp_macs(model, shape) -> int:
    import torch
    import torch_pruning as tp

    macs, _ = tp.utils.count_ops_and_params(model, torch.zeros(*shape))
    return int(macs)


def prune(model, shape, head, ratio: float, norm: int):
    """A pruned deep copy of `model` (Torch-Pruning magnitude, uniform `ratio`, head ignored)."""
    import torch
    import torch_pruning as tp

    m = copy.deepcopy(model)
    # The ignored head must be the copy's module: find it by name.
    head_name = next(n for n, mod in model.named_modules() if mod is head)
    m_head = dict(m.named_modules())[head_name]
    pruner = tp.pruner.MagnitudePruner(
        m, torch.zeros(*shape), importance=tp.importance.MagnitudeImportance(p=norm),
        global_pruning=False, pruning_ratio=ratio, ignored_layers=[m_head])
    pruner.step()
    return m.eval()


def onnx_macs(model, shape) -> int:
    return common.macs_onnx(common.to_onnx(model, shape))["total"]


def masked_check(model, shape, head, ratio: float, norm: int) -> float:
    """Structure check: prunes a copy group by group (Torch-Pruning's interactive mode) and zeroes
    the same output channels (conv / linear rows and biases, BatchNorm scale and shift) in another
    copy of the unpruned model; returns the largest |pruned - masked| output difference on a random
    input relative to the largest |output|. Small means the pruned model is exactly the original
    with those channels removed (Torch-Pruning's surgery is right, only the choice of channels and
    the missing compensation cost accuracy)."""
    import torch
    import torch.nn as nn
    import torch_pruning as tp

    head_name = next(n for n, mod in model.named_modules() if mod is head)
    pruned, masked = copy.deepcopy(model), copy.deepcopy(model)
    name_of = {mod: n for n, mod in pruned.named_modules()}
    masked_mods = dict(masked.named_modules())
    pruner = tp.pruner.MagnitudePruner(
        pruned, torch.zeros(*shape), importance=tp.importance.MagnitudeImportance(p=norm),
        global_pruning=False, pruning_ratio=ratio, ignored_layers=[dict(pruned.named_modules())[head_name]])
    for group in pruner.step(interactive=True):
        for dep, idxs in group:
            mod = dep.target.module
            if "out_channels" not in getattr(dep.handler, "__name__", "") or mod not in name_of:
                continue
            t = masked_mods[name_of[mod]]
            idx = torch.tensor(list(idxs), dtype=torch.long)
            with torch.no_grad():
                if isinstance(t, (nn.Conv2d, nn.Linear, nn.BatchNorm2d)):
                    t.weight[idx] = 0
                    if t.bias is not None:
                        t.bias[idx] = 0
        group.prune()
    x = torch.from_numpy(np.random.default_rng(1).normal(size=shape).astype(np.float32))
    with torch.no_grad():
        a, b = pruned.eval()(x).numpy(), masked.eval()(x).numpy()
    return float(np.abs(a - b).max() / max(1e-30, np.abs(b).max()))


def bisect_ratio(model, shape, head, target: float, norm: int, count: str, steps: int = 14):
    """The uniform ratio whose pruned MACs / original MACs is closest to `target` among the
    bisection's probes (ties: the smaller ratio), MACs counted by Torch-Pruning's
    count_ops_and_params (count="tp") or from the exported ONNX graph's Conv/Gemm/MatMul
    (count="onnx", Swiftlet's notion: BatchNorm folded, pools and activations free).
    Returns (ratio, MACs fraction, pruned module)."""
    macs = tp_macs if count == "tp" else onnx_macs
    base = macs(model, shape)
    lo, hi = 0.0, 0.95
    best = None
    for _ in range(steps):
        mid = (lo + hi) / 2
        pm = prune(model, shape, head, mid, norm)
        frac = macs(pm, shape) / base
        cand = (abs(frac - target), mid, frac, pm)
        if best is None or cand[:2] < best[:2]:
            best = cand
        if frac > target:
            lo = mid
        else:
            hi = mid
    return best[1], best[2], best[3]


def props_for(orig, suffix: str, what: str) -> dict:
    p = common.metadata(orig)
    out = dict(p)
    out["swiftlet.name"] = f"{p.get('swiftlet.name', 'model')}-{suffix}"
    out["swiftlet.weights"] = f"{p.get('swiftlet.weights', '?')}; {what}"
    out["swiftlet.source"] = f"{p.get('swiftlet.source', '?')}; {what} by tools/prune/torch_pruning_baseline.py"
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory (e.g. build/prune-baseline)")
    ap.add_argument("--models", nargs="*", default=ALL, choices=ALL)
    ap.add_argument("--targets", nargs="*", type=float, default=[0.75, 0.5], help="MACs fractions")
    ap.add_argument("--resolutions", nargs="*", type=int, default=[192, 160],
                    help="MobileNetV2 input sides for the resolution baseline (none: skip)")
    ap.add_argument("--norm", type=int, default=2, choices=[1, 2], help="magnitude norm (L1 or L2)")
    ap.add_argument("--count", default="tp", choices=["tp", "onnx"],
                    help="MACs counter the bisection aims with: Torch-Pruning's count_ops_and_params "
                         "(default) or the exported ONNX graph's Conv/Gemm/MatMul MACs (file names get '_onnxmacs')")
    ap.add_argument("--cache", default=None, help="weights cache (default $SWIFTLET_CACHE or ~/.cache/swiftlet)")
    args = ap.parse_args()

    import torch
    import torch_pruning as tp
    from importlib.metadata import version

    torch.set_num_threads(1)
    torch.manual_seed(0)
    tp_version = version("torch-pruning")
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name in args.models:
        t0 = time.time()
        model, shape, head, orig = load_model(name, args.cache)
        base_onnx = common.macs_onnx(orig)["total"]
        base_tp = tp_macs(model, shape)
        print(f"{name}: {base_onnx:,d} MACs (ONNX graph), {base_tp:,d} (Torch-Pruning count)", flush=True)
        for target in args.targets:
            ratio, frac, pm = bisect_ratio(model, shape, head, target, args.norm, args.count)
            counted = "Torch-Pruning's count" if args.count == "tp" else "ONNX Conv/Gemm/MatMul count"
            what = (f"Torch-Pruning {tp_version} MagnitudePruner, MagnitudeImportance(p={args.norm}), "
                    f"uniform ratio {ratio:.4f} (target {target:g} of the MACs, {counted}), no fine-tuning")
            tag = "" if args.count == "tp" else "_onnxmacs"
            path = os.path.join(args.out, f"{name}_tp_l{args.norm}{tag}_macs{target:g}.onnx")
            macs = common.export_onnx(pm, path, shape, props_for(orig, f"tp-l{args.norm}-macs{target:g}", what),
                                      input_name=orig.graph.input[0].name,
                                      output_names=[o.name for o in orig.graph.output], doc=what)["total"]
            params = sum(p.numel() for p in pm.parameters())
            mask_err = masked_check(model, shape, head, ratio, args.norm)
            if mask_err > 1e-4:
                raise RuntimeError(f"{name}: pruned model differs from the masked original by {mask_err:.1e}")
            rows.append(dict(model=name, kind=f"tp-l{args.norm}" + ("" if args.count == "tp" else "-onnxmacs"),
                             target=target, ratio=round(ratio, 6),
                             macs_fraction_tp=round(tp_macs(pm, shape) / base_tp, 4), macs=macs,
                             macs_fraction_onnx=round(macs / base_onnx, 4), params=params,
                             pruned_vs_masked_rel=mask_err, file=os.path.relpath(path, common.REPO) if path.startswith(common.REPO) else path))
            print(f"  target {target:g}: ratio {ratio:.4f} -> {rows[-1]['macs_fraction_tp']:.4f} of MACs (TP count), "
                  f"{macs / base_onnx:.4f} (ONNX), {params:,d} params, pruned vs masked original "
                  f"{mask_err:.1e} -> {path}", flush=True)
        if name == "mobilenet_v2":
            for side in args.resolutions:
                shp = [1, shape[1], side, side]
                what = f"same weights at {side}x{side} input (resolution scaling baseline)"
                path = os.path.join(args.out, f"{name}_res{side}.onnx")
                macs = common.export_onnx(model, path, shp, props_for(orig, f"res{side}", what),
                                          input_name=orig.graph.input[0].name,
                                          output_names=[o.name for o in orig.graph.output], doc=what)["total"]
                rows.append(dict(model=name, kind="resolution", target=side, ratio=None,
                                 macs_fraction_tp=round(tp_macs(model, shp) / base_tp, 4), macs=macs,
                                 macs_fraction_onnx=round(macs / base_onnx, 4),
                                 params=sum(p.numel() for p in model.parameters()),
                                 file=os.path.relpath(path, common.REPO) if path.startswith(common.REPO) else path))
                print(f"  resolution {side}: {macs / base_onnx:.4f} of MACs (ONNX) -> {path}", flush=True)
        print(f"  ({time.time() - t0:.1f}s)", flush=True)
    # baseline.json keeps the rows of earlier runs into the same directory (other models, counters).
    jpath = os.path.join(args.out, "baseline.json")
    old = []
    if os.path.exists(jpath):
        with open(jpath) as f:
            old = json.load(f).get("rows", [])
    new_keys = {(r["model"], r["kind"], r["target"]) for r in rows}
    rows = [r for r in old if (r["model"], r["kind"], r["target"]) not in new_keys] + rows
    summary = dict(torch_pruning=tp_version, torch=torch.__version__, rows=rows)
    with open(jpath, "w") as f:
        json.dump(summary, f, indent=1)
    print("\n| model | baseline | target | TP ratio | MACs (ONNX) | fraction (ONNX) | fraction (TP count) | params |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.4f}"
        print(f"| {r['model']} | {r['kind']} | {r['target']:g} | {ratio} "
              f"| {r['macs']:,d} | {r['macs_fraction_onnx']:.4f} | {r['macs_fraction_tp']:.4f} | {r['params']:,d} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
