#!/usr/bin/env bash
# Regenerates the committed Swift for Porter's TensorFlow .proto files.
#
# Needs `protoc` (Debian/Ubuntu: apt-get install protobuf-compiler) and
# swift-protobuf's `protoc-gen-swift` at the version Package.swift pins (1.39.0):
#   git clone https://github.com/apple/swift-protobuf /tmp/swift-protobuf
#   (cd /tmp/swift-protobuf && git checkout 1.39.0 && swift build -c release --product protoc-gen-swift)
#   PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/release/protoc-gen-swift \
#     Sources/PorterTensorFlow/Protos/regenerate.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift)}
out="$here/../Generated"
mkdir -p "$out"
rm -f "$out"/*.pb.swift
protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_opt=Visibility=Internal \
  --swift_out="$out" \
  -I "$here" \
  "$here"/porter_tf_types.proto "$here"/porter_tf_bundle.proto "$here"/porter_tf_saved_model.proto
