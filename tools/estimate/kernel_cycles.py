#!/usr/bin/env python3
"""Cycles per inner-loop iteration of the aarch64 micro-kernels, from llvm-mca on the object the
board build compiled (build/boards/BOARD/obj/kernels-arm_neon.o), for the cores `swiftlet estimate`
knows; written as Swift (Sources/SwiftletEstimate/Generated/ArmLoops.swift). Python stdlib only: a
build-time generator like the goldens, never needed at run time.

How a loop is found in the disassembly (docs/measuring.md, "ARM estimates"): the function's basic
blocks and their edges; the loop's anchor block (the block with the most of the loop's signature
instruction); the loop body is the shortest cycle through the anchor (fewest instructions), which is
the steady-state path: tail handling (partial loads, narrow stores) lies on longer paths. The body
goes to llvm-mca as one iteration of a loop (300 iterations); cycles per iteration = total cycles /
300. The work an iteration does is counted from the body itself (multiply-accumulates of its
sdot/smull/fmla, or bytes stored), so unrolling by the compiler changes nothing.
"""
import argparse, collections, heapq, os, re, subprocess, sys

LLVM = os.environ.get("LLVM_BIN", "/usr/lib/llvm-19/bin")

# Multiply-accumulates an instruction does (128-bit forms; 64-bit halves of smull count 8).
def macs(mn, ops):
    if mn == "sdot": return 16 if ".16b" in ops or ".4s" in ops else 8
    if mn in ("smull", "smull2", "smlal", "smlal2"): return 8 if (".8h" in ops) else 4
    if mn in ("fmla",): return 4 if ".4s" in ops else 2
    return 0

def stored_bytes(mn, ops):
    if "[sp" in ops: return 0  # a spill, not output
    regs = re.findall(r"\b([qdsbhwx])(\d+)\b", ops.split("[")[0])
    size = {"q": 16, "d": 8, "s": 4, "h": 2, "b": 1, "w": 4, "x": 8}
    if mn in ("str", "stur"): return size[regs[0][0]] if regs else 0
    if mn == "stp": return 2 * size[regs[0][0]] if regs else 0
    if mn == "st1":
        m = re.search(r"\{([^}]*)\}", ops)
        if not m: return 0
        n = len(m.group(1).split(","))
        lane = re.search(r"\.(\d+)([bhsd])", m.group(1))
        if lane:
            return n * int(lane.group(1)) * {"b": 1, "h": 2, "s": 4, "d": 8}[lane.group(2)]
        return 16 * n
    return 0

def disassemble(obj):
    out = subprocess.run([f"{LLVM}/llvm-objdump", "-d", "--no-show-raw-insn", obj], check=True,
                         capture_output=True, text=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if m:
            cur = funcs.setdefault(m.group(1), [])
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if m and cur is not None:
            ops = re.sub(r"\s*//.*$", "", m.group(3)).strip()
            cur.append((int(m.group(1), 16), m.group(2), ops))
    return funcs

BRANCHES = ("b", "b.eq", "b.ne", "b.hi", "b.ls", "b.lo", "b.hs", "b.gt", "b.ge", "b.lt", "b.le", "b.mi", "b.pl",
            "b.cc", "b.cs", "cbz", "cbnz", "tbz", "tbnz")

def target(mn, ops):
    m = re.search(r"0x([0-9a-f]+) <", ops)
    return int(m.group(1), 16) if m else None

def blocks(insns):
    addrs = [a for a, _, _ in insns]
    leaders = {addrs[0]}
    for i, (a, mn, ops) in enumerate(insns):
        if mn in BRANCHES or mn == "ret" or mn == "br":
            t = target(mn, ops)
            if t is not None: leaders.add(t)
            if i + 1 < len(insns): leaders.add(insns[i + 1][0])
    bl, order = {}, []
    for a, mn, ops in insns:
        if a in leaders:
            order.append(a)
            bl[a] = []
        bl[order[-1]].append((a, mn, ops))
    edges = {}
    for i, b in enumerate(order):
        last = bl[b][-1]
        succ = []
        t = target(last[1], last[2]) if last[1] in BRANCHES else None
        if t is not None and t in bl: succ.append(t)
        if last[1] not in ("b", "ret", "br") and i + 1 < len(order): succ.append(order[i + 1])
        edges[b] = succ
    return bl, edges

def shortest_cycle(bl, edges, anchor, avoid=()):
    """Fewest instructions on a path anchor → … → anchor; blocks in `avoid` are not entered."""
    dist, prev = {}, {}
    heap = []
    for s in edges[anchor]:
        if s in avoid and s != anchor: continue
        d = len(bl[s])
        if s not in dist or d < dist[s]:
            dist[s], prev[s] = d, anchor
            heapq.heappush(heap, (d, s))
    while heap:
        d, b = heapq.heappop(heap)
        if d > dist.get(b, 1e18): continue
        if b == anchor: break
        for s in edges[b]:
            if s in avoid and s != anchor: continue
            nd = d + len(bl[s])
            if nd < dist.get(s, 1e18):
                dist[s], prev[s] = nd, b
                heapq.heappush(heap, (nd, s))
    if anchor not in dist: return None
    path, b = [anchor], prev[anchor]
    while b != anchor:
        path.append(b)
        b = prev[b]
    path.reverse()  # anchor's successor … anchor; rotate so the anchor block is first
    path = [anchor] + path[:-1]
    return path

def asm(body):
    lines = ["L0:"]
    for _, mn, ops in body:
        if mn in BRANCHES or mn == "bl":
            ops = re.sub(r"0x[0-9a-f]+ <[^>]*>", "L0", ops)
        lines.append(f"  {mn} {ops}")
    return "\n".join(lines) + "\n"

def mca(body, cpu, iterations=300):
    out = subprocess.run([f"{LLVM}/llvm-mca", "-mtriple=aarch64-linux-gnu", f"-mcpu={cpu}", f"-iterations={iterations}"],
                         input=asm(body), check=True, capture_output=True, text=True).stdout
    total = int(re.search(r"Total Cycles:\s+(\d+)", out).group(1))
    return total / iterations


# The loops `swift estimate` counts, per kernel: (name, function, work, pick). work: "macs", or
# ("stored", bytes an element) for element-wise loops, or ("vector", mnemonic, lanes) for the pooling
# windows' taps; pick: which of the function's loops ("max" or "min" work per iteration, else the
# most work per instruction), and the epilogues, straight-line blocks with `count` of `mnemonic`.
LOOPS = [
    ("qs8GemmDot4", "swk_gemm_qs8_neondot", "macs", "max", "dotprod"),
    ("qs8GemmDot1", "swk_gemm_qs8_neondot", "macs", "min", "dotprod"),
    ("qs8Gemm4", "swk_gemm_qs8_neon", "macs", "max", None),
    ("qs8Gemm1", "swk_gemm_qs8_neon", "macs", "min", None),
    ("qs8Depthwise", "swk_dwconv_qs8_neon", "macs", "max", None),
    ("f32Gemm4", "swk_gemm_f32_neon", "macs", "max", None),
    ("f32Gemm1", "swk_gemm_f32_neon", "macs", "min", None),
    ("f32Depthwise", "swk_dwconv_f32_neon", "macs", "max", None),
    ("qs8Add", "swk_add_qs8_neon", ("stored", 1), "dense", None),
    ("qs8Mul", "swk_mul_qs8_neon", ("stored", 1), "dense", None),
    ("qs8Quantize", "swk_quantize_f32_neon", ("stored", 1), "dense", None),
    # Its 8-element loop goes through a stack buffer with two memcpy calls, which llvm-mca cannot see.
    ("qs8Dequantize", "swk_dequantize_s8_neon", ("vector", "scvtf", 4), "dense", None),
    ("qs8Lookup", "swk_lookup_s8_neon", ("stored", 1), "dense", None),
    ("f32Binary", "swk_binary_f32_neon", ("stored", 4), "dense", None),
    ("f32Activation", "swk_activation_f32_neon", ("stored", 4), "dense", None),
    ("qs8MaxPoolTap", "swk_maxpool_s8_neon", ("vector", "smax", 16), "dense", None),
    ("f32MaxPoolTap", "swk_maxpool_f32_neon", ("vector", "fcmgt", 4), "dense", None),
    # The int8 global average pooling's sums: each pixel's 16 channels widened into two int16 sums.
    ("qs8MeanPixel", "swk_mean_s8_neon", ("vector", ("saddw", "saddw2"), 8), "dense", None),
]
# Requantization after a GEMM tile row (8 outputs: two sqrdmulh) and after a depthwise pixel's 16 channels (four).
EPILOGUES = [
    ("qs8GemmRequant8", "swk_gemm_qs8_neon", "sqrdmulh", 2, 8),
    ("qs8DepthwiseRequant16", "swk_dwconv_qs8_neon", "sqrdmulh", 4, 16),
]

def work_of(work, body):
    if work == "macs": return sum(macs(m, o) for _, m, o in body)
    if work[0] == "stored": return sum(stored_bytes(m, o) for _, m, o in body) // work[1]
    names = work[1] if isinstance(work[1], tuple) else (work[1],)
    return sum(work[2] for _, m, o in body if m in names and "v" in o)

def find_loop(funcs, fn, work, pick):
    bl, ed = blocks(funcs[fn])
    found = {}
    for a in bl:
        cyc = shortest_cycle(bl, ed, a)
        if not cyc: continue
        body = [i for b in cyc for i in bl[b]]
        w = work_of(work, body)
        if w <= 0: continue
        key = tuple(sorted(cyc))
        if key not in found: found[key] = (w, body)
    if not found: sys.exit(f"kernel-cycles: no loop doing work in {fn}")
    loops = list(found.values())
    if pick in ("max", "min"):
        w = (max if pick == "max" else min)(w for w, _ in loops)
        return min((b for ww, b in loops if ww == w), key=len), w
    w, body = max(loops, key=lambda t: (t[0] / len(t[1]), -len(t[1])))
    return body, w

def find_block(funcs, fn, mnemonic, count):
    bl, _ = blocks(funcs[fn])
    cands = [b for b in bl.values() if sum(1 for _, m, _ in b if m == mnemonic) == count]
    if not cands: sys.exit(f"kernel-cycles: no block with {count} × {mnemonic} in {fn}")
    return min(cands, key=len)

# The cores and the llvm-mca model each uses. LLVM 19 gives cortex-a76 the Cortex-A57 scheduling model
# (the same cycles as cortex-a72); the Neoverse N1 is the Cortex-A76's server sibling (same core
# microarchitecture) and has a model of its own, so A76 loops are scheduled with it.
CPUS = [("cortex-a53", "cortex-a53", False), ("cortex-a55", "cortex-a55", True), ("cortex-a72", "cortex-a72", False),
        ("cortex-a76", "neoverse-n1", True)]

def conf(path):
    out = {}
    for line in open(path):
        m = re.match(r"^(\w+)\s*=\s*(.*?)\s*$", line)
        if m: out[m.group(1)] = m.group(2)
    return out

def swift_string(s): return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--object", default="build/boards/rpi5/obj/kernels-arm_neon.o")
    ap.add_argument("--out", default="Sources/SwiftletEstimate/Generated/ArmLoops.swift")
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    ap.add_argument("--verbose", action="store_true", help="print each loop body")
    a = ap.parse_args()
    if not os.path.exists(a.object):
        sys.exit(f"kernel-cycles: {a.object} is missing: build the board first (tools/build-board rpi5)")
    funcs = disassemble(a.object)
    version = subprocess.run([f"{LLVM}/llvm-mca", "--version"], capture_output=True, text=True).stdout
    version = re.search(r"LLVM version ([\d.]+)", version).group(1)
    rows = []
    for name, fn, work, pick, need in LOOPS:
        body, w = find_loop(funcs, fn, work, pick)
        if a.verbose: print(f"== {name} ({fn}): {len(body)} instructions, work {w}\n" + asm(body))
        for cpu, model, dot in CPUS:
            if need == "dotprod" and not dot: continue
            rows.append((cpu, model, name, fn, len(body), mca(body, model), w))
    for name, fn, mnemonic, count, w in EPILOGUES:
        body = find_block(funcs, fn, mnemonic, count)
        if a.verbose: print(f"== {name} ({fn}): {len(body)} instructions, {w} outputs\n" + asm(body))
        for cpu, model, dot in CPUS:
            rows.append((cpu, model, name, fn, len(body), mca(body, model), w))
    targets = []
    # Raspberry Pi profiles first: `--cpu cortex-a76` means a Pi 5 before an RK3588.
    for path in sorted(os.listdir("boards"), key=lambda p: (not p.startswith("rpi"), p)):
        if not path.endswith(".conf"): continue
        c = conf(os.path.join("boards", path))
        if c.get("triple") != "aarch64-linux-gnu" or not c.get("clock_ghz"): continue
        feats = c.get("features", "").split()
        targets.append((c["name"], c["cpu"], "dotprod" in feats, int(c.get("threads") or 1), float(c["clock_ghz"]),
                        float(c["memory_bandwidth_gbs"]) if c.get("memory_bandwidth_gbs") else None))
    out = ["// Generated by tools/estimate/kernel-cycles: do not edit. The aarch64 micro-kernels' loops as the board",
           f"// build compiled them ({a.object}), scheduled by llvm-mca {version} for each core (300 iterations);",
           "// the boards' clock and memory bandwidth from boards/*.conf, where their sources are cited.",
           "",
           "public let generatedArmLoops: [ArmLoop] = ["]
    for cpu, model, name, fn, n, cyc, w in rows:
        out.append(f"    ArmLoop(cpu: {swift_string(cpu)}, mcaModel: {swift_string(model)}, loop: .{name}, function: {swift_string(fn)}, "
                   f"instructions: {n}, cyclesPerIteration: {cyc:.2f}, workPerIteration: {w}),")
    out += ["]", "", "public let generatedArmBoards: [ArmBoard] = ["]
    for b, cpu, dot, threads, ghz, bw in targets:
        out.append(f"    ArmBoard(board: {swift_string(b)}, cpu: {swift_string(cpu)}, dotprod: {'true' if dot else 'false'}, threads: {threads}, "
                   f"clockGHz: {ghz}, bandwidthGBs: {bw if bw is not None else 'nil'}),")
    out += ["]", "", f"public let generatedMCAVersion = {swift_string(version)}", ""]
    text = "\n".join(out)
    if a.check:
        old = open(a.out).read() if os.path.exists(a.out) else ""
        if old != text:
            import difflib
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), text.splitlines(True), a.out, "regenerated"))
            sys.exit(f"kernel-cycles: {a.out} is not what the board's kernels give now: run tools/estimate/kernel-cycles")
        print(f"kernel-cycles: {a.out} is current ({len(rows)} loops)")
        return
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    open(a.out, "w").write(text)
    print(f"kernel-cycles: wrote {a.out} ({len(rows)} loops, llvm-mca {version})")

if __name__ == "__main__":
    main()
