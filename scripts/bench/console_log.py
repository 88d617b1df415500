"""The console's log pane on a big job: time to take in N lines (as they come from StreamLogs,
in batches), memory held, time to render one frame (following the end, in the middle, with a
search highlighted, wrapped), time to find a line, and key presses answered while scrolling.

    python scripts/bench/console_log.py [--lines 1000000] [--batch 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from textual.app import App, ComposeResult
from textual.pilot import Pilot

from hodei_api import v1
from hodei_api.loglines import Line
from hodei_tui.widgets.log_view import LogView

WIDTH, HEIGHT = 160, 48


class Bench(App[None]):
    def compose(self) -> ComposeResult:
        yield LogView(id="log")


def make_lines(count: int) -> list[Line]:
    base = int(time.time() * 1e6)
    return [
        Line(n, v1.LogStream.STDERR if n % 7 == 0 else v1.LogStream.STDOUT,
             f"{n:>8} worker step {n % 977} loss {1 / n:.6f} some more text to make it realistic\n".encode(),
             base + n, 1)
        for n in range(1, count + 1)
    ]  # fmt: skip


def frame_ms(log: LogView, repeat: int = 20) -> float:
    """Median milliseconds to build and render every row on screen, from scratch."""
    samples = []
    for _ in range(repeat):
        log._rows = None
        started = time.perf_counter()
        for y in range(log.size.height):
            log.render_line(y)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def press_ms(pilot: Pilot[None], key: str, times: int = 20) -> float:
    started = time.perf_counter()
    for _ in range(times):
        await pilot.press(key)
    return (time.perf_counter() - started) * 1000 / times


def since(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.1f} ms"


def report(label: str, value: str) -> None:
    print(f"{label:<46} {value}")


async def run(count: int, batch: int) -> None:
    lines = make_lines(count)
    app = Bench()
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        log = app.query_one(LogView)
        log.focus()
        started = time.perf_counter()
        for at in range(0, count, batch):
            log.append(lines[at : at + batch])
        ingest = time.perf_counter() - started
        await pilot.pause()
        report(
            f"ingest {count:,} lines (batches of {batch:,})",
            f"{ingest:.2f} s ({ingest / count * 1e6:.2f} us/line)",
        )
        store = log.store
        held = len(store.data) + sum(a.itemsize * len(a) for a in (store.starts, store.seqs, store.ts_micros))
        held += len(store.streams) + sum(a.itemsize * len(a) for a in store._only.values())
        text = len(store.data)
        report("memory held", f"{held / 2**20:.1f} MiB ({(held - text) / count:.1f} bytes/line besides text)")
        report("frame at the end (following)", f"{frame_ms(log):.2f} ms")
        log.scroll_y = count // 2
        await pilot.pause()
        report("frame in the middle", f"{frame_ms(log):.2f} ms")
        started = time.perf_counter()
        log.search("step 976 loss")
        report("search (case-insensitive, from the middle)", since(started))
        report("frame with the match highlighted", f"{frame_ms(log):.2f} ms")
        started = time.perf_counter()
        assert store.find("No such text", 0) is None
        report("search the whole log, no match (exact case)", since(started))
        started = time.perf_counter()
        assert store.find("no such text", 0) is None
        report("search the whole log, no match (any case)", since(started))
        log.wrap = True
        await pilot.pause()
        report("frame wrapped", f"{frame_ms(log):.2f} ms")
        log.wrap = False
        log.timestamps = True
        await pilot.pause()
        report("frame with timestamps", f"{frame_ms(log):.2f} ms")
        # Scrolls animate by default (frames spread over ~0.5 s): time the work, not the animation.
        app.animation_level = "none"
        report("key press answered (pagedown, with repaint)", f"{await press_ms(pilot, 'pagedown'):.1f} ms")
        report("key press answered (End: follow again)", f"{await press_ms(pilot, 'end'):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(run(args.lines, args.batch))


if __name__ == "__main__":
    main()
