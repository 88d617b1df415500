"""Server reflection (grpclib's own service) that describes every message and method, so a
client with no copy of protos/ (grpcurl, Postman, Evans, grpcio) can build and send calls."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from google.protobuf.descriptor_pool import DescriptorPool
from grpclib._typing import IServable
from grpclib.health.v1 import health_pb2
from grpclib.reflection.service import ServerReflection

from hodei_api.descriptors import contract_descriptors


class Descriptors:
    """The lookups grpclib's reflection makes, answered from a pool of the contract's files
    and grpc.health.v1's (reflection lists Health too). The pool is one of its own, not
    protobuf's default one, so that nothing else a process imports can clash with it. The
    methods are named as a protobuf DescriptorPool's, which is what grpclib calls; each raises
    KeyError for what is not there, which grpclib answers with NOT_FOUND."""

    def __init__(self) -> None:
        self.pool = DescriptorPool()
        health = FileDescriptorProto()
        health_pb2.DESCRIPTOR.CopyToProto(health)
        for file in [*contract_descriptors().file, health]:
            self.pool.AddSerializedFile(file.SerializeToString())

    def FindFileByName(self, name: str) -> FileDescriptor:
        """The file named ``name`` ("hodei/v1/jobs.proto")."""
        return self.pool.FindFileByName(name)

    def FindFileContainingSymbol(self, symbol: str) -> FileDescriptor:
        """The file that defines ``symbol``, a method's full name included: clients ask for
        one (``grpcurl describe hodei.v1.JobService.SubmitJob``), and protobuf's pool finds
        services, messages, fields and enums by name but no method."""
        try:
            return self.pool.FindFileContainingSymbol(symbol)
        except KeyError:
            service, _, method = symbol.rpartition(".")
            try:
                found = self.pool.FindServiceByName(service)
            except KeyError:
                pass
            else:
                if method in found.methods_by_name:
                    return found.file
            raise

    def FindMessageTypeByName(self, name: str) -> Descriptor:
        """The message of full name ``name``."""
        return self.pool.FindMessageTypeByName(name)

    def FindExtensionByNumber(self, message: Descriptor, number: int) -> FieldDescriptor:
        """The extension ``number`` of ``message`` (the contract defines none)."""
        return self.pool.FindExtensionByNumber(message, number)

    def FindAllExtensions(self, message: Descriptor) -> Sequence[FieldDescriptor]:
        """Every extension of ``message`` (none in the contract)."""
        return self.pool.FindAllExtensions(message)


def with_reflection(services: Collection[IServable]) -> list[IServable]:
    """``services`` and the reflection services (v1 and v1alpha) that list and describe them."""
    return ServerReflection.extend(services, pool=Descriptors())
