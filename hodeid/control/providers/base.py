"""What every provider is: what its workers offer, its limits, and create/destroy."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from hodeid.domain.scaling import Offer


@dataclass(frozen=True)
class Limits:
    """How many workers a provider keeps, and how long it waits for them."""

    min: int = 0
    max: int = 1
    idle_timeout: float = 60.0
    """Seconds a worker above ``min`` may stay idle before it is drained and destroyed."""
    provisioning_timeout: float = 30.0
    """Seconds a created worker has to connect before it is destroyed as failed."""


class Provider(ABC):
    """Creates and destroys workers. Errors are ``ProviderError`` with a sentence that says
    what failed; the fleet records them and backs off."""

    kind: ClassVar[str]
    shared: ClassVar[bool] = True
    """Whether its workers serve the cluster (any daemon sharing the database may use them):
    then only the cluster's leader creates them, once for all. False for a provider whose
    workers are its daemon's own (the local provider's are its children)."""

    def __init__(self, name: str, offer: Offer, limits: Limits) -> None:
        self.name = name
        self.offer = offer
        self.limits = limits

    @abstractmethod
    async def create(self, worker_id: str, token: str) -> None:
        """Start a worker that connects as ``worker_id`` presenting ``token``; return once it
        is started (not connected)."""

    @abstractmethod
    async def destroy(self, worker_id: str) -> None:
        """Make sure the worker is gone (it may have exited already)."""

    def exited(self, worker_id: str) -> str | None:
        """Why the worker ended by itself (e.g. ``exited with code 2``), if this provider can
        tell; None while it runs or when it cannot know."""
        return None
