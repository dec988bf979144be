"""Shared helpers for the pruning scripts in tools/prune/ (project venv: tools/prune/setup.sh).

* ``macs_onnx(model)``: multiply-accumulates of an ONNX graph (Conv, ConvTranspose, Gemm, MatMul), from
  the shapes that onnx shape inference gives; everything else (pools, adds, activations) counts 0.
* ``preprocess(path, meta, side)``: Swiftlet's classification pre-processing of a JPEG (Pillow decode,
  shorter side resized with BILINEAR as torchvision does, centre crop, (u8 - mean) / std per channel).
* ``OnnxModule``: a small ONNX -> PyTorch converter for plain CNN graphs; Conv becomes nn.Conv2d and
  Gemm / MatMul with a constant weight nn.Linear, so the result is trainable and can be pruned by
  Torch-Pruning. Operators: Conv, Gemm, MatMul (+ Add), Relu, Clip, MaxPool, AveragePool,
  GlobalAveragePool, Reshape, Flatten, Transpose, Add, Mul, Concat, Softmax, Constant,
  BatchNormalization (eval).
* ``export_onnx(module, path, ...)``: torch.onnx.export (opset 17, batch 1, dynamo=False) plus the
  ``swiftlet.*`` metadata_props that tools/models/export.py writes, so ``swiftlet import`` accepts it.
"""
from __future__ import annotations

import io
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODELS_PY = os.path.join(REPO, "tools", "models")
OPSET = 17


# ------------------------------------------------------------------------------------------------
# MACs from an ONNX graph
# ------------------------------------------------------------------------------------------------
def _dims(vi) -> list[int] | None:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    out = []
    for d in t.shape.dim:
        if not d.HasField("dim_value"):
            return None
        out.append(int(d.dim_value))
    return out


def macs_onnx(model) -> dict:
    """{'total': MACs, 'by_op': {op: MACs}} for a loaded onnx.ModelProto (batch as in the graph)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    shapes = {}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        d = _dims(vi)
        if d is not None:
            shapes[vi.name] = d
    for init in g.initializer:
        shapes[init.name] = list(init.dims)
    for n in g.node:  # Constant nodes carry their shape in the attribute
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    shapes[n.output[0]] = list(a.t.dims)
    total, by_op = 0, {}
    for n in g.node:
        macs = 0
        if n.op_type in ("Conv", "ConvTranspose"):
            w, y = shapes.get(n.input[1]), shapes.get(n.output[0])
            x = shapes.get(n.input[0])
            if w is None or y is None or x is None:
                raise ValueError(f"macs_onnx: no shape for {n.op_type} {n.name}")
            group = next((a.i for a in n.attribute if a.name == "group"), 1)
            k = int(np.prod(w[2:]))
            if n.op_type == "Conv":  # w: [Cout, Cin/g, kh, kw]; every output element: Cin/g * k MACs
                macs = int(np.prod(y)) * w[1] * k
            else:  # w: [Cin, Cout/g, kh, kw]; every input element: Cout/g * k MACs
                macs = int(np.prod(x)) * w[1] * k
        elif n.op_type == "Gemm":
            a, y = shapes.get(n.input[0]), shapes.get(n.output[0])
            trans_a = next((at.i for at in n.attribute if at.name == "transA"), 0)
            kdim = a[0] if trans_a else a[1]
            macs = int(np.prod(y)) * kdim
        elif n.op_type == "MatMul":
            a, y = shapes.get(n.input[0]), shapes.get(n.output[0])
            macs = int(np.prod(y)) * a[-1]
        if macs:
            total += macs
            by_op[n.op_type] = by_op.get(n.op_type, 0) + macs
    return {"total": total, "by_op": by_op}


# ------------------------------------------------------------------------------------------------
# Metadata and pre-processing
# ------------------------------------------------------------------------------------------------
def metadata(model) -> dict:
    return {p.key: p.value for p in model.metadata_props}


def input_shape(model) -> list[int]:
    inits = {i.name for i in model.graph.initializer}
    real = [i for i in model.graph.input if i.name not in inits]
    if len(real) != 1:
        raise ValueError(f"expected one graph input, got {[i.name for i in real]}")
    d = _dims(real[0])
    if d is None or len(d) != 4:
        raise ValueError(f"input {real[0].name}: expected a static [N, C, H, W] shape")
    return d


def resize_shorter_centre_crop(im, shorter: int, crop_w: int, crop_h: int):
    """torchvision's Resize(shorter) + CenterCrop((crop_h, crop_w)) for a PIL image, done with Pillow
    (BILINEAR; longer side int(shorter * long / short); offsets int(round((size - crop) / 2))), which
    Swiftlet's resizer matches bit-exactly (Tests/Goldens/images, tools/goldens/make_image_goldens.py)."""
    from PIL import Image

    w, h = im.size
    if w <= h:
        nw, nh = shorter, int(shorter * h / w)
    else:
        nw, nh = int(shorter * w / h), shorter
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.BILINEAR)
    top = int(round((nh - crop_h) / 2.0))
    left = int(round((nw - crop_w) / 2.0))
    return im.crop((left, top, left + crop_w, top + crop_h))


def preprocess(path: str, meta: dict, shape: list[int], resize_shorter: int | None = None) -> np.ndarray:
    """[1, C, H, W] float32 input for a JPEG, as Swiftlet feeds a classifier imported with
    `--resize crop`: shorter side to `resize_shorter` (default round(256 * H / 224), i.e. 256 for a
    224 input, the ImageNet convention scaled with the input), centre crop to the input, then
    (u8 - mean) / std from the file's swiftlet.mean / swiftlet.std; 1-channel models get luma ("L")."""
    from PIL import Image

    _, c, h, w = shape
    mean = np.asarray(json.loads(meta.get("swiftlet.mean", "[0, 0, 0]")), dtype=np.float32)
    std = np.asarray(json.loads(meta.get("swiftlet.std", "[1, 1, 1]")), dtype=np.float32)
    im = Image.open(path)
    im = im.convert("L" if c == 1 else "RGB")
    if resize_shorter is None:
        resize_shorter = int(round(256 * max(h, w) / 224))
    if im.size != (w, h):
        im = resize_shorter_centre_crop(im, resize_shorter, w, h)
    a = np.asarray(im, dtype=np.float32)
    if c == 1:
        x = ((a - mean[0]) / std[0])[None, None]
    else:
        if meta.get("swiftlet.colour", "rgb") == "bgr":
            a = a[..., ::-1]
        x = ((a - mean) / std).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(x, dtype=np.float32)


def ort_session(model_or_path):
    """onnxruntime CPU session, no graph optimisation, one thread (as tools/models/tinycnn.py)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    src = model_or_path if isinstance(model_or_path, (str, bytes)) else model_or_path.SerializeToString()
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


# ------------------------------------------------------------------------------------------------
# Export
# ------------------------------------------------------------------------------------------------
def to_onnx(module, shape: list[int], props: dict | None = None, input_name: str = "input",
            output_names=("logits",), doc: str = ""):
    """`module` (eval mode) as an onnx.ModelProto: torch.onnx.export at opset 17, batch 1,
    dynamo=False, constant folding (BatchNorm folded into the convolutions), with `props` as
    metadata_props in the order given."""
    import onnx
    import torch

    module.eval()
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, (torch.zeros(*shape, dtype=torch.float32),), buf,
                          input_names=[input_name], output_names=list(output_names), opset_version=OPSET,
                          dynamo=False, do_constant_folding=True, export_params=True)
    m = onnx.load_from_string(buf.getvalue())
    if doc:
        m.doc_string = doc
    del m.metadata_props[:]
    for k, v in (props or {}).items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    return m


def export_onnx(module, path: str, shape: list[int], props: dict, input_name: str = "input",
                output_names=("logits",), doc: str = "") -> dict:
    """Writes to_onnx(...) to `path` (checked by onnx.checker, deterministic serialisation);
    returns macs_onnx of the written graph."""
    import onnx

    m = to_onnx(module, shape, props, input_name, output_names, doc)
    onnx.checker.check_model(m, full_check=True)
    data = m.SerializeToString(deterministic=True)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".part", "wb") as f:
        f.write(data)
    os.replace(path + ".part", path)
    return macs_onnx(m)


# ------------------------------------------------------------------------------------------------
# ONNX -> PyTorch
# ------------------------------------------------------------------------------------------------
def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _build_torch_module_class():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from onnx import numpy_helper

    class ConstantPad(torch.autograd.Function):
        """Zero padding by fixed amounts (left, right, top, bottom) that exports as one ONNX Pad
        with constant pads (F.pad would export a chain of shape operators)."""

        @staticmethod
        def forward(ctx, x, pads):
            ctx.pads = pads
            return F.pad(x, pads)

        @staticmethod
        def backward(ctx, grad):
            left, right, top, bottom = ctx.pads
            h, w = grad.shape[-2], grad.shape[-1]
            return grad[..., top:h - bottom, left:w - right], None

        @staticmethod
        def symbolic(g, x, pads):
            left, right, top, bottom = pads
            onnx_pads = torch.tensor([0, 0, top, left, 0, 0, bottom, right], dtype=torch.int64)
            return g.op("Pad", x, g.op("Constant", value_t=onnx_pads), mode_s="constant")

    class OnnxModule(nn.Module):
        """A plain-CNN ONNX graph as a PyTorch module. Convolutions and fully connected layers are
        nn.Conv2d / nn.Linear submodules (trainable, and visible to Torch-Pruning's dependency
        graph); other constant tensors used by Add / Mul become nn.Parameters, shapes and clip
        bounds stay Python constants. Unknown operators raise ValueError naming them."""

        SUPPORTED = ("Conv", "Gemm", "MatMul", "Relu", "Clip", "MaxPool", "AveragePool",
                     "GlobalAveragePool", "Reshape", "Flatten", "Transpose", "Add", "Mul", "Concat",
                     "Softmax", "Constant", "BatchNormalization", "Identity", "Dropout")

        def __init__(self, model):
            super().__init__()
            g = model.graph
            self.consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
            for n in g.node:
                if n.op_type == "Constant":
                    self.consts[n.output[0]] = numpy_helper.to_array(_attrs(n)["value"])
            self.input_names = [i.name for i in g.input if i.name not in self.consts]
            self.output_names = [o.name for o in g.output]
            self.layers = nn.ModuleDict()
            self.params = nn.ParameterDict()
            self.steps = []  # (kind, key, node inputs, node outputs, extra)
            unknown = sorted({n.op_type for n in g.node if n.op_type not in self.SUPPORTED})
            if unknown:
                raise ValueError(f"OnnxModule: unsupported ONNX operator(s): {', '.join(unknown)}")
            used_as_weight = set()
            for idx, n in enumerate(g.node):
                key = f"{n.op_type.lower()}{idx}"
                a = _attrs(n)
                op = n.op_type
                if op == "Constant":
                    continue
                if op == "Conv":
                    w = self.consts[n.input[1]]
                    b = self.consts[n.input[2]] if len(n.input) > 2 and n.input[2] else None
                    if w.ndim != 4:
                        raise ValueError(f"OnnxModule: only 2-D Conv is supported ({n.name})")
                    pads = list(a.get("pads", [0, 0, 0, 0]))
                    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                        raise ValueError(f"OnnxModule: Conv auto_pad is not supported ({n.name})")
                    sym = pads[0] == pads[2] and pads[1] == pads[3]
                    conv = nn.Conv2d(w.shape[1] * a.get("group", 1), w.shape[0], tuple(w.shape[2:]),
                                     stride=tuple(a.get("strides", [1, 1])),
                                     padding=(pads[0], pads[1]) if sym else 0,
                                     dilation=tuple(a.get("dilations", [1, 1])), groups=a.get("group", 1),
                                     bias=b is not None)
                    with torch.no_grad():
                        conv.weight.copy_(torch.from_numpy(w.copy()))
                        if b is not None:
                            conv.bias.copy_(torch.from_numpy(b.copy()))
                    self.layers[key] = conv
                    used_as_weight.update(n.input[1:])
                    extra = None if sym else (pads[1], pads[3], pads[0], pads[2])
                    self.steps.append(("conv", key, [n.input[0]], list(n.output), extra))
                elif op == "Gemm" or (op == "MatMul" and n.input[1] in self.consts):
                    w = self.consts[n.input[1]]
                    if op == "Gemm":
                        if a.get("transA", 0):
                            raise ValueError(f"OnnxModule: Gemm transA=1 is not supported ({n.name})")
                        w = w if a.get("transB", 0) else w.T
                        w = w * a.get("alpha", 1.0)
                        b = self.consts[n.input[2]] * a.get("beta", 1.0) if len(n.input) > 2 and n.input[2] else None
                    else:
                        w, b = w.T, None  # MatMul(x, B): B [K, N] -> Linear weight [N, K]
                    if b is not None:
                        b = np.broadcast_to(b, (w.shape[0],)).copy()
                    lin = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
                    with torch.no_grad():
                        lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)))
                        if b is not None:
                            lin.bias.copy_(torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32)))
                    self.layers[key] = lin
                    used_as_weight.update(n.input[1:])
                    self.steps.append(("linear", key, [n.input[0]], list(n.output), None))
                elif op == "BatchNormalization":
                    scale, bias, mean, var = (self.consts[i] for i in n.input[1:5])
                    bn = nn.BatchNorm2d(len(scale), eps=a.get("epsilon", 1e-5))
                    with torch.no_grad():
                        for t, v in ((bn.weight, scale), (bn.bias, bias), (bn.running_mean, mean), (bn.running_var, var)):
                            t.copy_(torch.from_numpy(v.copy()))
                    self.layers[key] = bn
                    self.steps.append(("bn", key, [n.input[0]], list(n.output), None))
                elif op in ("Add", "Mul"):
                    ins = []
                    for j, name in enumerate(n.input):
                        if name in self.consts and name not in used_as_weight:
                            pk = f"{key}_{j}"
                            self.params[pk] = nn.Parameter(torch.from_numpy(self.consts[name].astype(np.float32).copy()))
                            ins.append(("param", pk))
                        else:
                            ins.append(("value", name))
                    self.steps.append((op.lower(), key, ins, list(n.output), None))
                elif op == "Clip":
                    lo = a.get("min", None)
                    hi = a.get("max", None)
                    if len(n.input) > 1 and n.input[1]:
                        lo = float(self.consts[n.input[1]])
                    if len(n.input) > 2 and n.input[2]:
                        hi = float(self.consts[n.input[2]])
                    self.steps.append(("clip", key, [n.input[0]], list(n.output), (lo, hi)))
                elif op == "Reshape":
                    shape = [int(v) for v in self.consts[n.input[1]]]
                    if a.get("allowzero", 0):
                        raise ValueError(f"OnnxModule: Reshape allowzero=1 is not supported ({n.name})")
                    self.steps.append(("reshape", key, [n.input[0]], list(n.output), shape))
                elif op in ("MaxPool", "AveragePool"):
                    k = list(a["kernel_shape"])
                    pads = list(a.get("pads", [0] * 4))
                    if pads[0] != pads[2] or pads[1] != pads[3]:
                        raise ValueError(f"OnnxModule: asymmetric pool pads are not supported ({n.name})")
                    extra = dict(kernel_size=tuple(k), stride=tuple(a.get("strides", [1, 1])),
                                 padding=(pads[0], pads[1]), ceil_mode=bool(a.get("ceil_mode", 0)))
                    if op == "AveragePool":
                        extra["count_include_pad"] = bool(a.get("count_include_pad", 0))
                    else:
                        extra["dilation"] = tuple(a.get("dilations", [1, 1]))
                    self.steps.append((op.lower(), key, [n.input[0]], list(n.output), extra))
                elif op == "Flatten":
                    self.steps.append(("flatten", key, [n.input[0]], list(n.output), a.get("axis", 1)))
                elif op == "Transpose":
                    self.steps.append(("transpose", key, [n.input[0]], list(n.output), list(a["perm"])))
                elif op == "Concat":
                    self.steps.append(("concat", key, list(n.input), list(n.output), a["axis"]))
                elif op == "Softmax":
                    self.steps.append(("softmax", key, [n.input[0]], list(n.output), a.get("axis", -1)))
                elif op == "MatMul":
                    self.steps.append(("matmul", key, list(n.input), list(n.output), None))
                else:  # Relu, GlobalAveragePool, Identity, Dropout (inference: identity)
                    self.steps.append((op.lower(), key, [n.input[0]], list(n.output), None))
            # Constants other than weights that a step reads as a value (e.g. a MatMul operand).
            self.value_consts = {k: v for k, v in self.consts.items() if k not in used_as_weight}

        def forward(self, *xs):
            env = dict(zip(self.input_names, xs))

            def get(name):
                if name in env:
                    return env[name]
                return torch.from_numpy(self.value_consts[name].copy())

            for kind, key, ins, outs, extra in self.steps:
                if kind == "conv":
                    x = get(ins[0])
                    if extra is not None:
                        x = ConstantPad.apply(x, extra)
                    y = self.layers[key](x)
                elif kind in ("linear", "bn"):
                    y = self.layers[key](get(ins[0]))
                elif kind in ("add", "mul"):
                    vals = [self.params[v] if t == "param" else get(v) for t, v in ins]
                    y = vals[0] + vals[1] if kind == "add" else vals[0] * vals[1]
                elif kind == "relu":
                    y = F.relu(get(ins[0]))
                elif kind == "clip":
                    lo, hi = extra
                    y = torch.clamp(get(ins[0]), min=lo, max=hi)
                elif kind == "maxpool":
                    y = F.max_pool2d(get(ins[0]), **extra)
                elif kind == "averagepool":
                    y = F.avg_pool2d(get(ins[0]), **extra)
                elif kind == "globalaveragepool":
                    y = F.adaptive_avg_pool2d(get(ins[0]), 1)  # exports as GlobalAveragePool
                elif kind == "reshape":
                    x = get(ins[0])
                    shape = [int(x.shape[i]) if s == 0 else s for i, s in enumerate(extra)]
                    if len(shape) == 2 and shape[0] in (1, x.shape[0]) and x.dim() > 2:
                        # A flatten ([1, K] from a batch-1 export): stays valid for a training
                        # batch and when Torch-Pruning removes channels.
                        y = torch.flatten(x, 1)
                    else:
                        if shape[0] == 1 and x.shape[0] != 1:
                            shape[0] = int(x.shape[0])  # the batch-1 export's batch: the training batch
                        y = x.reshape(shape)
                elif kind == "flatten":
                    x = get(ins[0])
                    y = torch.flatten(x, extra) if extra > 0 else x.reshape(1, -1)
                elif kind == "transpose":
                    y = get(ins[0]).permute(*extra)
                elif kind == "concat":
                    y = torch.cat([get(i) for i in ins], dim=extra)
                elif kind == "softmax":
                    y = torch.softmax(get(ins[0]), dim=extra)
                elif kind == "matmul":
                    y = torch.matmul(get(ins[0]), get(ins[1]))
                else:  # identity, dropout
                    y = get(ins[0])
                env[outs[0]] = y
            res = [env[o] for o in self.output_names]
            return res[0] if len(res) == 1 else tuple(res)

    return OnnxModule


_ONNX_MODULE = None


def onnx_to_torch(model):
    """An OnnxModule (see above) for a loaded onnx.ModelProto, in eval mode."""
    global _ONNX_MODULE
    if _ONNX_MODULE is None:
        _ONNX_MODULE = _build_torch_module_class()
    return _ONNX_MODULE(model).eval()
