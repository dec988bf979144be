#!/usr/bin/env python3
"""Writes Sources/SwiftletONNX/Generated/OpVersionTable.swift: for every ONNX op type the importer maps,
each version of its schema (the opset it appeared at, `since_version`) from the pinned onnx package's
`onnx.defs`, and whether Swiftlet imports it.

Which versions Swiftlet imports:
- every version in force at opsets 11-21, the range the importer was written and tested against
  (before this table, the whole model's opset had to be in 11...21);
- every later version whose signature equals the one before it: the same inputs (names, optional or
  not), outputs and attributes (names, types, defaults). Such a version only adds element types
  (bfloat16, float8, int4 ...), which changes nothing for the float32 graphs and int64 shape
  constants Swiftlet imports;
- the later versions listed in HANDLED, whose change the importer implements (with a note why).
Any other version is refused by op name and version, with what changed (the signature's difference).
Versions before the one in force at opset 11 are refused too.

The op list is read from the importer's own rule tables (Sources/SwiftletONNX/Ops/*.swift, Fold/*.swift)
plus the ops the importer handles inline (INLINE); the test ONNXConformanceTests.everyMappedOpHasVersions
checks that the table and the importer agree.

Run with the pinned venv (tools/models/setup_venv.sh installs onnx==1.23.2):
    ~/.cache/swiftlet/venv/bin/python tools/onnx/op_versions.py
and commit the output. It is deterministic: running it again writes the same bytes.
"""
import os
import re
import sys

import onnx
import onnx.defs as defs
from onnx import helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "Sources/SwiftletONNX/Generated/OpVersionTable.swift")

# The opsets the importer was written and tested for (the former whole-model gate).
TESTED = range(11, 22)

# Ops the importer handles before its rule tables (Importer.swift, importNode).
INLINE = ["Identity", "Dropout", "Constant", "Shape", "Size"]

# Later versions whose change the importer implements: (op, since_version) -> why it is imported.
HANDLED = {
    ("Cast", 24): "round_mode applies only to casts to float8e8m0, which the folder refuses",
    ("Range", 27): "stash_type applies only to float16 and bfloat16, which the folder computes in float32 anyway",
    ("SpaceToDepth", 28): "the importer reads mode (DCR, as before, or CRD)",
}


def mapped_ops():
    ops = set(INLINE)
    for sub in ("Ops", "Fold"):
        d = os.path.join(ROOT, "Sources/SwiftletONNX", sub)
        for f in sorted(os.listdir(d)):
            text = open(os.path.join(d, f)).read()
            ops.update(re.findall(r'"([A-Z][A-Za-z0-9]*)": \{ [a-z] throws', text))
            for group in re.findall(r"for: \[([^\]]*)\]", text):
                ops.update(re.findall(r'"([A-Z][A-Za-z0-9]*)"', group))
    return sorted(ops)


def versions(op):
    """Every schema of `op` in the default domain, oldest first."""
    out = []
    v = defs.onnx_opset_version()
    while v >= 1:
        try:
            s = defs.get_schema(op, v, "")
        except Exception:
            break
        out.append(s)
        v = s.since_version - 1
    return list(reversed(out))


def default_text(a):
    if not a.default_value or a.default_value.type == 0:
        return None
    return repr(helper.get_attribute_value(a.default_value))


def signature(s):
    """What a schema version says of its semantics apart from element types."""
    attrs = {name: (int(a.type), a.required, default_text(a)) for name, a in s.attributes.items()}
    ins = [(i.name, int(i.option)) for i in s.inputs]
    outs = [(o.name, int(o.option)) for o in s.outputs]
    return attrs, ins, outs


OPTION = {0: "", 1: "optional ", 2: "variadic "}


def difference(old, new):
    """The change from signature `old` to `new`, as a short phrase for messages."""
    (oa, oi, oo), (na, ni, no) = old, new
    parts = []
    for name in sorted(set(na) - set(oa)):
        parts.append("adds attribute '%s'" % name)
    for name in sorted(set(oa) - set(na)):
        parts.append("removes attribute '%s'" % name)
    for name in sorted(set(oa) & set(na)):
        if oa[name] != na[name]:
            if oa[name][2] != na[name][2]:
                parts.append("changes the default of '%s' from %s to %s" % (name, oa[name][2], na[name][2]))
            else:
                parts.append("changes attribute '%s'" % name)
    if oi != ni:
        old_names = [n for n, _ in oi]
        for k, (name, opt) in enumerate(ni):
            if name not in old_names:
                parts.append("adds %sinput '%s'" % (OPTION.get(opt, ""), name))
            elif (name, opt) not in oi:
                parts.append("changes input '%s'" % name)
        for name, _ in oi:
            if name not in [n for n, _ in ni]:
                parts.append("removes input '%s'" % name)
        if not parts:
            parts.append("reorders its inputs")
    if oo != no:
        parts.append("changes its outputs")
    return ", ".join(parts) or "changes its signature"


def rows(op):
    hist = versions(op)
    if not hist:
        sys.exit("op %s has no schema in onnx %s" % (op, onnx.__version__))
    in_force = lambda opset: max((s for s in hist if s.since_version <= opset), key=lambda s: s.since_version, default=None)
    tested = {in_force(o).since_version for o in TESTED if in_force(o) is not None}
    first = min(tested) if tested else None
    out = []
    prev = None
    imported_prev = False
    for s in hist:
        v = s.since_version
        sig = signature(s)
        if first is None or v < first:
            out.append((v, False, "before opset %d" % TESTED.start))
        elif v in tested:
            out.append((v, True, ""))
        elif (op, v) in HANDLED:
            out.append((v, True, HANDLED[(op, v)]))
        elif sig == prev:
            # Only element types changed: imported as the version before it was, for the same reason.
            out.append((v, imported_prev, "" if imported_prev else out[-1][2]))
        else:
            out.append((v, False, difference(prev, sig) if prev is not None else "new"))
        imported_prev = out[-1][1]
        prev = sig
    return out


def swift_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    newest = defs.onnx_opset_version()
    lines = [
        "// Generated by tools/onnx/op_versions.py from onnx %s (onnx.defs, default domain); do not edit." % onnx.__version__,
        "// swift-format-ignore-file",
        "",
        "/// The newest default-domain opset of the onnx package the table was generated from.",
        "let onnxNewestOpset = %d" % newest,
        "",
        "/// The onnx package version the table was generated from.",
        'let onnxOpVersionsSource = "onnx %s"' % onnx.__version__,
        "",
        "/// Per op type the importer maps: every version of its schema (the opset it appeared at), oldest",
        "/// first, whether Swiftlet imports it, and for a refused version what changed (`ONNXOpVersion`).",
        "let onnxOpVersions: [String: [ONNXOpVersion]] = [",
    ]
    for op in mapped_ops():
        lines.append("    %s: [" % swift_string(op))
        for v, ok, note in rows(op):
            lines.append("        ONNXOpVersion(since: %d, imported: %s, change: %s)," % (v, "true" if ok else "false", swift_string(note)))
        lines.append("    ],")
    lines.append("]")
    text = "\n".join(lines) + "\n"
    with open(OUT, "w") as f:
        f.write(text)
    print("wrote %s (%d ops, onnx %s, newest opset %d)" % (os.path.relpath(OUT, ROOT), len(mapped_ops()), onnx.__version__, newest))


if __name__ == "__main__":
    main()
