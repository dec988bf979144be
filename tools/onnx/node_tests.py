#!/usr/bin/env python3
"""Generates the ONNX backend node tests (the onnx package's own conformance cases,
`onnx.backend.test.case.node`) from the pinned onnx package into a cache outside the clone:

    ${SWIFTLET_CACHE:-~/.cache/swiftlet}/onnx-node-tests/onnx-<version>/
        <test name>/model.onnx
        <test name>/test_data_set_<k>/input_<j>.pb, output_<j>.pb   (TensorProto, as ONNX's own layout)
        index.tsv    one line a test: name, op types, default-domain opset, inputs, outputs
                     (each `name:elem_type:dims`, `;`-separated); `-` for a test whose inputs or
                     outputs are not all tensors (sequences, maps, optionals: Swiftlet has none)
        .complete    written last: the onnx version, the case count; present means done

The wheel itself ships only the `simple`, `pytorch-converted` and `pytorch-operator` sets; the node
tests are made by running each op's case generator (numpy), as `onnx.backend.test.cmd_tools
generate-data` does for the model tests. Idempotent: when `.complete` names this onnx version, it
prints the folder and does nothing. Issue #19, point 1: a Swift test reads this folder.

    ~/.cache/swiftlet/venv/bin/python tools/onnx/node_tests.py            # prints the folder
    ~/.cache/swiftlet/venv/bin/python tools/onnx/node_tests.py --force    # regenerate
"""
import argparse
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper


def cache_root():
    base = os.environ.get("SWIFTLET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "swiftlet")
    return os.path.join(base, "onnx-node-tests", "onnx-" + onnx.__version__)


def default_opset(model):
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    return 0


def describe(values):
    """`name:elem_type:d0xd1…` per value info, or None when one is not a tensor."""
    out = []
    for v in values:
        if not v.type.HasField("tensor_type"):
            return None
        tt = v.type.tensor_type
        dims = "x".join(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim)
        out.append("%s:%d:%s" % (v.name, tt.elem_type, dims))
    return ";".join(out)


def tensor_bytes(value, name):
    if isinstance(value, TensorProto):
        return value.SerializeToString()
    return numpy_helper.from_array(np.asarray(value), name).SerializeToString()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="regenerate even when the cache is complete")
    args = ap.parse_args()

    root = cache_root()
    stamp = os.path.join(root, ".complete")
    if not args.force and os.path.exists(stamp) and open(stamp).read().startswith("onnx %s\n" % onnx.__version__):
        print(root)
        return
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)

    import onnx.backend.test.case.node as node_cases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases()
    rows = []
    written = 0
    for case in sorted(cases, key=lambda c: c.name):
        model = case.model
        d = os.path.join(root, case.name)
        os.makedirs(d)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(model.SerializeToString())
        ins = describe(model.graph.input)
        outs = describe(model.graph.output)
        ops = ",".join(sorted({n.op_type if n.domain in ("", "ai.onnx") else n.domain + "." + n.op_type for n in model.graph.node}))
        rows.append("\t".join([case.name, ops, str(default_opset(model)), ins if ins is not None else "-", outs if outs is not None else "-"]))
        if ins is None or outs is None:
            continue  # sequences, maps, optionals: the model alone, for the list of what is not run
        for k, (inputs, outputs) in enumerate(case.data_sets or []):
            ds = os.path.join(d, "test_data_set_%d" % k)
            os.makedirs(ds)
            for j, v in enumerate(inputs):
                with open(os.path.join(ds, "input_%d.pb" % j), "wb") as f:
                    f.write(tensor_bytes(v, model.graph.input[j].name))
            for j, v in enumerate(outputs):
                with open(os.path.join(ds, "output_%d.pb" % j), "wb") as f:
                    f.write(tensor_bytes(v, model.graph.output[j].name))
        written += 1
    with open(os.path.join(root, "index.tsv"), "w") as f:
        f.write("# name\top types\topset\tinputs\toutputs\n")
        f.write("\n".join(rows) + "\n")
    with open(stamp, "w") as f:
        f.write("onnx %s\n%d cases, %d with tensor data\n" % (onnx.__version__, len(rows), written))
    print("node_tests: %d cases (%d with tensor inputs and outputs) in %s" % (len(rows), written, root), file=sys.stderr)
    print(root)


if __name__ == "__main__":
    main()
