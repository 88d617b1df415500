"""The Hodei gRPC contract: generated messages and stubs (``v1``), the log line columns
(``loglines``) and the client connection helper."""

from hodei_api.gen.hodei import v1

__all__ = ["v1"]
