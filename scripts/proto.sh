#!/usr/bin/env bash
# Regenerate hodei_api/gen/ (or the directory given) from protos/ with betterproto2:
# async grpclib stubs for clients and servers, and contract.binpb, the FileDescriptorSet of
# protos/ and what they import, which hodeid's server reflection serves.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-hodei_api/gen}
rm -rf "$out"
mkdir -p "$out"
python -m grpc_tools.protoc -I protos \
  --python_betterproto2_out="$out" \
  --python_betterproto2_opt=client_generation=async,server_generation=async \
  --descriptor_set_out="$out/contract.binpb" --include_imports \
  protos/hodei/v1/*.proto
# Not the compiler's: the package's __init__ speeds up betterproto2 before any message is
# defined (hodei_api/field_defaults.py says how and why).
cat >"$out/__init__.py" <<'PY'
# Written by scripts/proto.sh: see hodei_api/field_defaults.py.
from hodei_api.field_defaults import keep_field_defaults

keep_field_defaults()
PY
