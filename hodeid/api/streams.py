"""Server streams that let go of what they hold as soon as the client goes away."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any

import grpclib.server


class ClosingStreams:
    """For every service with server-streaming methods (StreamLogs, Watch*): the handler's
    generator is closed when the stream ends, however it ends.

    betterproto2 iterates a handler's generator but does not close it when sending fails: a
    client that resets its stream or drops its connection cancels the send, and the generator
    is left suspended with what it holds (a page of log, a follower's subscription and queue)
    until the garbage collector finds it, which grpclib's references to the ended task put off.
    """

    async def _call_rpc_handler_server_stream(
        self,
        handler: Callable[[Any], AsyncGenerator[Any]],
        stream: grpclib.server.Stream[Any, Any],
        request: Any,
    ) -> None:
        async with aclosing(handler(request)) as responses:
            async for message in responses:
                await stream.send_message(message)
