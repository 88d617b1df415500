"""The log pane's behaviour: follow, pause with a count of new lines, End, stream filter,
search with wrap-around, and only the visible rows rendered."""

from __future__ import annotations

from textual.app import App, ComposeResult

from hodei_api import v1
from hodei_api.loglines import Line
from hodei_tui.console.logstore import Streams
from hodei_tui.widgets.log_view import LogView


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LogView(id="log")


def lines(first: int, last: int) -> list[Line]:
    return [
        Line(n, v1.LogStream.STDERR if n % 2 else v1.LogStream.STDOUT, f"line {n}\n".encode(), 0, 1)
        for n in range(first, last + 1)
    ]


async def test_follow_pause_count_and_resume() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(LogView)
        log.focus()
        log.append(lines(1, 100))
        await pilot.pause()
        assert log.follow and log.scroll_y == log.max_scroll_y
        await pilot.press("pageup")
        await pilot.pause()
        assert not log.follow
        log.append(lines(101, 130))
        await pilot.pause()
        assert log.unseen == 30 and "30 new lines (End to follow)" in log.status()
        await pilot.press("end")
        await pilot.pause()
        assert log.follow and log.unseen == 0 and log.scroll_y == log.max_scroll_y
        assert "following" in log.status()


async def test_stream_filter_and_search_wrapping_around() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(LogView)
        log.focus()
        log.append(lines(1, 100))  # odd lines on stderr
        await pilot.press("o")
        await pilot.pause()
        assert log.streams is Streams.STDOUT and log.virtual_size.height == 50

        def matched() -> str:
            assert log.match is not None
            return log.store.text(log.match)

        log.search("line 7")  # from the top of the window (line 78) down
        assert matched() == "line 78"
        await pilot.press("n")  # wraps to the top; line 7 is on stderr, hidden
        assert matched() == "line 70"
        await pilot.press("n")
        assert matched() == "line 72"
        await pilot.press("N", "N")
        assert matched() == "line 78", "backwards, wrapping to the end"
        await pilot.press("o", "o")
        assert log.status().count("only") == 0, "both streams again"
        await pilot.press("n")
        assert matched() == "line 79"


async def test_renders_only_the_rows_on_screen() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(LogView)
        log.append(lines(1, 100_000))
        await pilot.pause()
        rows = log._window(log.scrollable_content_region.width)
        assert len(rows) == log.scrollable_content_region.height <= 12
        assert "line 100000" in "".join(seg.text for seg in rows[-1])


async def test_output_is_shown_as_data_and_the_pane_scrolls_as_wide_as_its_escapes() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(LogView)
        log.append([Line(1, v1.LogStream.STDOUT, b"\x1b[2J" * 30 + b"[bold]end[/]\n", 0, 1)])
        await pilot.pause()
        await pilot.pause()
        shown = "\\x1b[2J" * 30 + "[bold]end[/]"
        assert log.virtual_size.width >= len(shown)
        log.scroll_to(x=log.max_scroll_x, animate=False)
        await pilot.pause()
        text = "".join(seg.text for seg in log.render_line(0))
        assert text.rstrip().endswith("\\x1b[2J[bold]end[/]")
