#!/usr/bin/env bash
# Regenerates Sources/SwiftletONNX/Generated/onnx.pb.swift from onnx.proto (run once, commit the output).
# Building protoc-gen-swift takes minutes, so CI never runs this; the generated file is committed.
#   needs: protobuf-compiler (apt), the onnx pip package (for onnx.proto), swift-protobuf 1.39.0
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}
command -v protoc >/dev/null || apt-get install -y protobuf-compiler
proto=$("$cache/venv/bin/python" -c 'import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), "onnx.proto"))')
if [ ! -x "$cache/sp/.build/release/protoc-gen-swift" ]; then
  rm -rf "$cache/sp"
  git clone -q https://github.com/apple/swift-protobuf "$cache/sp"
  git -C "$cache/sp" checkout -q 1.39.0
  (cd "$cache/sp" && swift build -c release --product protoc-gen-swift)
fi
tmp=$(mktemp -d)
cp "$proto" "$tmp/onnx.proto"
mkdir -p "$here/Sources/SwiftletONNX/Generated"
protoc --plugin=protoc-gen-swift="$cache/sp/.build/release/protoc-gen-swift" \
  --swift_opt=Visibility=Internal --swift_out="$here/Sources/SwiftletONNX/Generated" -I "$tmp" "$tmp/onnx.proto"
echo "wrote Sources/SwiftletONNX/Generated/onnx.pb.swift from $proto"
