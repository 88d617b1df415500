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
