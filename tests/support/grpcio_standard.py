"""grpc.health.v1 and server reflection called through grpcio (the standard protobuf messages
grpclib ships), as load balancers, probes and generic gRPC tools call them."""

from __future__ import annotations

import grpc
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse
from grpclib.reflection.v1.reflection_pb2 import ServerReflectionRequest, ServerReflectionResponse


def health(channel: grpc.Channel, service: str = "") -> str:
    """The serving status of ``service`` (the whole server when empty), by name."""
    call = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=HealthCheckRequest.SerializeToString,
        response_deserializer=HealthCheckResponse.FromString,
    )
    response = call(HealthCheckRequest(service=service), timeout=10)
    return str(HealthCheckResponse.ServingStatus.Name(response.status))


def listed_services(channel: grpc.Channel) -> set[str]:
    """The services server reflection lists."""
    call = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=ServerReflectionRequest.SerializeToString,
        response_deserializer=ServerReflectionResponse.FromString,
    )
    responses = call(iter([ServerReflectionRequest(list_services="")]), timeout=10)
    return {s.name for s in next(iter(responses)).list_services_response.service}


def reflected_file(channel: grpc.Channel, symbol: str = "", filename: str = "") -> str:
    """The name of the file server reflection (v1) sends for ``symbol`` or ``filename``, or the
    error it answers with ("error 5: not found")."""
    call = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=ServerReflectionRequest.SerializeToString,
        response_deserializer=ServerReflectionResponse.FromString,
    )
    if symbol:
        request = ServerReflectionRequest(file_containing_symbol=symbol)
    else:
        request = ServerReflectionRequest(file_by_filename=filename)
    response = next(iter(call(iter([request]), timeout=10)))
    if response.HasField("error_response"):
        error = response.error_response
        return f"error {error.error_code}: {error.error_message}"
    first = response.file_descriptor_response.file_descriptor_proto[0]
    return FileDescriptorProto.FromString(first).name
