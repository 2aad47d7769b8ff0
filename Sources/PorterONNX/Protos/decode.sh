#!/usr/bin/env bash
# Prints an .onnx file as protobuf text through Porter's minimal onnx.proto, e.g. to check the
# reader's field numbers against a real export or to look at what `porter convert --to onnx`
# wrote. PorterONNX itself uses no generated code (see onnx.proto's header), so there is
# nothing to regenerate. Needs `protoc` (Debian/Ubuntu: apt-get install protobuf-compiler).
#   Sources/PorterONNX/Protos/decode.sh model.onnx | less
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
protoc -I "$here" --decode porter_onnx.ModelProto "$here/onnx.proto" < "${1:?usage: decode.sh MODEL.onnx}"
