#!/usr/bin/env bash
# Regenerate hodei_api/gen/ (or the directory given) from protos/ with betterproto2:
# async grpclib stubs for clients and servers.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-hodei_api/gen}
rm -rf "$out"
mkdir -p "$out"
python -m grpc_tools.protoc -I protos \
  --python_betterproto2_out="$out" \
  --python_betterproto2_opt=client_generation=async,server_generation=async \
  protos/hodei/v1/*.proto
