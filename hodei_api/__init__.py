"""The Hodei gRPC contract: generated messages and stubs (``v1``), the log line columns
(``loglines``) and the client connection helper.

``v1`` is imported on first use, not with the package, so that a program using only the
package's small helpers (``hodei --help`` reaches ``printable``) loads no gRPC and no messages.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hodei_api.gen.hodei import v1

__all__ = ["v1"]


def _import_betterproto2_without_pydantic() -> None:
    # betterproto2 imports pydantic whenever it is installed (it is, for hodeid's settings),
    # only to validate messages generated as pydantic dataclasses. Ours are plain dataclasses
    # (scripts/proto.sh does not ask for pydantic_dataclasses), so it is shown none while it
    # loads, as if pydantic were not installed: about 20 ms less for every `hodei` command.
    # A None entry in sys.modules makes `import pydantic` raise ImportError, which betterproto2
    # catches; a program that has imported pydantic already keeps it.
    if "betterproto2" in sys.modules or "pydantic" in sys.modules:
        return
    sys.modules["pydantic"] = None  # type: ignore[assignment]
    try:
        importlib.import_module("betterproto2")
    finally:
        del sys.modules["pydantic"]


def __getattr__(name: str) -> ModuleType:
    if name != "v1":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _import_betterproto2_without_pydantic()
    module = importlib.import_module("hodei_api.gen.hodei.v1")
    globals()["v1"] = module
    return module
