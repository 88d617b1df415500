"""The contract's protobuf file descriptors, for server reflection: ``protos/`` and the files
they import, as ``scripts/proto.sh`` wrote them next to the generated code."""

from __future__ import annotations

from importlib.resources import files

from google.protobuf.descriptor_pb2 import FileDescriptorSet

# Written by scripts/proto.sh with the generated code, and checked up to date with it.
_CONTRACT = files("hodei_api.gen").joinpath("contract.binpb")


def contract_descriptors() -> FileDescriptorSet:
    """Every file of ``protos/`` and every file they import, each after its imports."""
    return FileDescriptorSet.FromString(_CONTRACT.read_bytes())
