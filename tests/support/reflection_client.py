"""A gRPC client that knows nothing of Hodei but what server reflection tells it, as grpcurl,
Postman or Evans know: grpcio, grpcio-reflection and protobuf only, never hodei_api, grpclib
or protos/. It runs as a process of its own (grpcio-reflection's and grpclib's copies of the
reflection protos cannot share one process) and prints what it saw as one JSON object.

    python reflection_client.py HOST:PORT     (the bearer token in $BEARER_TOKEN)

It lists the services; loads, through reflection alone, the file of each service and the
files those import, and the file of each method by the method's full name; submits a job
from JSON, as grpcurl -d does; lists the jobs; and calls ListJobs without a token."""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import FileDescriptor, MethodDescriptor
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

FOREIGN = ("hodei_api", "hodeid", "grpclib", "betterproto2")


def _with_imports(pool: DescriptorPool, file: FileDescriptor, into: dict[str, str]) -> None:
    if file.name in into:
        return
    proto = FileDescriptorProto()
    file.CopyToProto(proto)
    into[file.name] = base64.b64encode(proto.SerializeToString()).decode()
    for dependency in file.dependencies:
        _with_imports(pool, pool.FindFileByName(dependency.name), into)


def _call(channel: grpc.Channel, method: MethodDescriptor, request: dict[str, Any], token: str | None) -> Any:
    """Call unary ``method`` with ``request`` given as JSON, the way grpcurl -d does."""
    call = channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=GetMessageClass(method.output_type).FromString,
    )
    message = json_format.ParseDict(request, GetMessageClass(method.input_type)())
    metadata = [("authorization", f"Bearer {token}")] if token else None
    return call(message, metadata=metadata, timeout=10)


def main(addr: str, token: str) -> dict[str, Any]:
    """What the client saw of the daemon at ``addr``."""
    seen: dict[str, Any] = {"files": {}, "method_files": {}}
    with grpc.insecure_channel(addr) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        pool = DescriptorPool(database)
        seen["services"] = sorted(database.get_services())
        for name in seen["services"]:
            service = pool.FindServiceByName(name)
            _with_imports(pool, service.file, seen["files"])
            for method in service.methods:
                # A database of its own, with nothing cached, asks the server, as a fresh
                # `grpcurl describe hodei.v1.JobService.SubmitJob` does.
                found = ProtoReflectionDescriptorDatabase(channel).FindFileContainingSymbol(method.full_name)
                seen["method_files"][method.full_name] = found.name

        jobs = pool.FindServiceByName("hodei.v1.JobService").methods_by_name
        spec = {"name": "by-reflection", "command": ["true"]}
        submitted = _call(channel, jobs["SubmitJob"], {"spec": spec}, token)
        seen["submitted"] = json_format.MessageToDict(submitted)
        listed = _call(channel, jobs["ListJobs"], {"states": ["JOB_STATE_PENDING"]}, token)
        seen["listed"] = json_format.MessageToDict(listed)
        try:
            _call(channel, jobs["ListJobs"], {}, None)
        except grpc.RpcError as exc:
            seen["without_token"] = exc.code().name
    seen["foreign_modules"] = sorted(m for m in sys.modules if m.split(".")[0] in FOREIGN)
    return seen


if __name__ == "__main__":
    json.dump(main(sys.argv[1], os.environ["BEARER_TOKEN"]), sys.stdout)
