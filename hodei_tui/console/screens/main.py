"""The main screen: jobs, workers, the selected job's decision trace and its log, side by side
on a wide terminal and as tabs on a narrow one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import DescendantFocus, Resize
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Tab, Tabs

from hodei_api import v1
from hodei_api.backoff import Backoff
from hodei_api.printable import printable
from hodei_tui.cli.render_usage import usage_line
from hodei_tui.console import messages as m
from hodei_tui.console.feeds import Feeds
from hodei_tui.console.format import FINISHED, plain, short_id
from hodei_tui.console.protocol import ConsoleClient
from hodei_tui.console.pulse import Pulse
from hodei_tui.console.screens.confirm import ConfirmScreen
from hodei_tui.console.screens.help import HelpScreen
from hodei_tui.console.screens.prompt import PromptScreen
from hodei_tui.console.screens.submit import SubmitScreen
from hodei_tui.errors import HodeiError
from hodei_tui.widgets.connection_banner import ConnectionBanner
from hodei_tui.widgets.decision_trace import DecisionTrace
from hodei_tui.widgets.jobs_table import JobsTable
from hodei_tui.widgets.log_view import LogView
from hodei_tui.widgets.pulse_strip import PulseStrip
from hodei_tui.widgets.schedules_panel import SchedulesPanel
from hodei_tui.widgets.workers_panel import WorkersPanel

CANCEL_REASON = "cancelled from the console"
NARROW = 120
JOBS_APPLY_EVERY = 0.25
PANES = ("jobs", "workers", "trace", "log", "schedules")
TITLES = {
    "jobs": "Jobs", "workers": "Workers", "trace": "Decision trace", "log": "Log", "schedules": "Schedules",
}  # fmt: skip
# The panes of each column of the wide layout.
LEFT = ("jobs", "workers", "schedules")
# Actions that need the daemon: off (and dimmed in the footer) while it is unreachable.
ONLINE_ACTIONS = frozenset({"submit", "cancel", "retry", "drain", "goto"})


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # The keys that open a form are priority: the form is on screen before the next key is
        # routed, so keys typed right behind them go to the form, not to the actions here.
        Binding("a", "submit", "Submit", priority=True),
        Binding("c", "cancel", "Cancel"),
        Binding("r", "retry", "Retry"),
        Binding("d", "drain", "Drain"),
        Binding("g", "goto", "Go to", priority=True),
        Binding("f", "filter", "Filter", priority=True),
        Binding("s", "cycle_state", "State", show=False),
        Binding("tab", "next_pane", "Pane", show=False),
        Binding("shift+tab", "previous_pane", "Pane", show=False),
        *(Binding(str(n), f"pane('{pane}')", TITLES[pane], show=False) for n, pane in enumerate(PANES, 1)),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, client: ConsoleClient, clock: Callable[[], datetime], backoff: Backoff) -> None:
        super().__init__()
        self.client = client
        self.clock = clock
        self.feeds = Feeds(client, self.post_message, backoff)
        self.pulse = Pulse(clock)
        self.online = False
        self.selected: str | None = None
        self._changed_jobs: dict[str, v1.Job] = {}
        self.pane = "jobs"

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")  # which daemon, and whether the console is connected to it
        yield ConnectionBanner(self.clock, id="banner")
        yield PulseStrip(id="pulse")
        yield Tabs(*(Tab(TITLES[p], id=f"tab-{p}") for p in PANES), id="tabs")
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield JobsTable(self.clock, id="jobs")
                yield WorkersPanel(self.clock, id="workers")
                yield SchedulesPanel(self.clock, id="schedules")
            with Vertical(id="right"):
                yield DecisionTrace(id="trace")
                yield LogView(id="log")
        yield Footer(id="footer")

    def on_mount(self) -> None:
        self.query_one(ConnectionBanner).display = False
        for pane in PANES:
            widget = self.query_one(f"#{pane}")
            widget.border_title = TITLES[pane]
        self.set_class(True, "-connecting")
        self.sub_title = f"connecting to {self.client.addr}"
        self._layout(self.size.width)
        self.query_one("#jobs").focus()
        self.set_interval(1.0, self._tick)
        self._watch()
        self._follow_schedules()

    @work(exclusive=True, group="watch")
    async def _watch(self) -> None:
        await self.feeds.watch()

    @work(exclusive=True, group="schedules")
    async def _follow_schedules(self) -> None:
        await self.feeds.schedules()

    def _tick(self) -> None:
        self.query_one(JobsTable).refresh_ages()
        self.query_one(WorkersPanel).refresh_ages()
        self.query_one(SchedulesPanel).refresh_ages()
        self.query_one(ConnectionBanner).tick()
        self.query_one(PulseStrip).show(self.pulse)  # the window moves on, quiet or not

    # Layout: side by side, or tabs below NARROW columns.

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        narrow = width < NARROW
        self.set_class(narrow, "-narrow")
        self.query_one("#tabs").display = narrow
        self.query_one(Footer).compact = narrow  # every key still fits in 100 columns
        for pane in PANES:
            self.query_one(f"#{pane}").display = not narrow or pane == self.pane
        self.query_one("#left").display = not narrow or self.pane in LEFT
        self.query_one("#right").display = not narrow or self.pane not in LEFT

    def _show_pane(self, pane: str) -> None:
        self.pane = pane
        self._layout(self.size.width)
        if self.query_one("#tabs", Tabs).active != f"tab-{pane}":
            self.query_one("#tabs", Tabs).active = f"tab-{pane}"
        self.query_one(f"#{pane}").focus()

    @on(Tabs.TabActivated)
    def _tab(self, event: Tabs.TabActivated) -> None:
        pane = (event.tab.id or "").removeprefix("tab-")
        if pane in PANES and pane != self.pane:
            self._show_pane(pane)

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        if event.widget.id in PANES:  # a click, or tab, moved to another pane
            self.pane = event.widget.id

    def action_pane(self, pane: str) -> None:
        self._show_pane(pane)

    def action_next_pane(self) -> None:
        self._show_pane(PANES[(PANES.index(self.pane) + 1) % len(PANES)])

    def action_previous_pane(self) -> None:
        self._show_pane(PANES[(PANES.index(self.pane) - 1) % len(PANES)])

    # The connection.

    def on_connected(self, event: m.Connected) -> None:
        self.online = True
        self.set_class(False, "-disconnected")
        self.set_class(False, "-connecting")
        self.query_one(ConnectionBanner).up()
        self.sub_title = f"connected to {event.addr}"
        self.refresh_bindings()

    def on_disconnected(self, event: m.Disconnected) -> None:
        self.online = False
        self.set_class(True, "-disconnected")
        self.set_class(False, "-connecting")
        next_at = self.clock() + timedelta(seconds=event.retry_in)
        self.query_one(ConnectionBanner).down(event.error, event.attempts, next_at)
        self.sub_title = f"disconnected from {event.addr}"
        if self.client.addr != event.addr:
            self.sub_title += f"; trying {self.client.addr}"
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ONLINE_ACTIONS and not self.online:
            return None  # shown dimmed in the footer
        return True

    # Jobs and workers.

    def on_jobs_listed(self, event: m.JobsListed) -> None:
        self._changed_jobs.clear()  # the listing is newer than any change not yet applied
        table = self.query_one(JobsTable)
        table.replace(event.jobs)
        self._select(table.selected_id)
        self._show_usage()
        self._pulse_jobs()

    def on_job_changed(self, event: m.JobChanged) -> None:
        # Changes are applied together, at most every JOBS_APPLY_EVERY: a burst of new jobs
        # costs a few table rebuilds a second (~70 ms each at 2,000 rows), not one per job.
        if not self._changed_jobs:
            self.set_timer(JOBS_APPLY_EVERY, self._apply_job_changes)
        before = self._changed_jobs.get(event.job.id) or self.query_one(JobsTable).jobs.get(event.job.id)
        if event.job.state in FINISHED and (before is None or before.state not in FINISHED):
            self.pulse.count("finished")
        self._changed_jobs[event.job.id] = event.job

    def _apply_job_changes(self) -> None:
        table = self.query_one(JobsTable)
        table.upsert(*self._changed_jobs.values())
        self._changed_jobs.clear()
        if self.selected is None:
            self._select(table.selected_id)
        self._show_usage()
        self._pulse_jobs()

    def _pulse_jobs(self) -> None:
        states = [job.state for job in self.query_one(JobsTable).jobs.values()]
        self.pulse.level("queue", states.count(v1.JobState.PENDING))
        self.pulse.level("running", states.count(v1.JobState.RUNNING))
        self.query_one(PulseStrip).show(self.pulse)

    def _pulse_workers(self) -> None:
        self.pulse.level("workers", sum(w.live for w in self.query_one(WorkersPanel).infos.values()))
        self.query_one(PulseStrip).show(self.pulse)

    def on_workers_listed(self, event: m.WorkersListed) -> None:
        self.query_one(WorkersPanel).replace(event.workers)
        self._pulse_workers()

    def on_schedules_listed(self, event: m.SchedulesListed) -> None:
        self.query_one(SchedulesPanel).replace(event.schedules)

    def on_worker_changed(self, event: m.WorkerChanged) -> None:
        self.query_one(WorkersPanel).upsert(event.worker)
        self._pulse_workers()

    @on(DataTable.RowHighlighted, "#jobs")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._select(event.row_key.value)

    def _select(self, job_id: str | None) -> None:
        if job_id == self.selected:
            return
        self.selected = job_id
        log = self.query_one(LogView)
        log.reset()
        trace = self.query_one(DecisionTrace)
        trace.show(job_id, None)
        if job_id is None:
            trace.border_subtitle = ""
            log.border_title = "Log"
            log.empty_hint = "no job selected"
            self.workers.cancel_group(self, "log")
            self.workers.cancel_group(self, "trace")
            return
        log.border_title = plain(f"Log · {short_id(job_id)}")
        log.empty_hint = "no output yet"
        trace.border_title = plain(f"Decision trace · {short_id(job_id)}")
        self._show_usage()
        self._follow_log(job_id)
        self._follow_trace(job_id)

    def _show_usage(self) -> None:
        """What the selected job's attempts used, under its trace: CPU, peak memory, wall time."""
        job = self.query_one(JobsTable).jobs.get(self.selected or "")
        usage = job.usage if job is not None else None
        self.query_one(DecisionTrace).border_subtitle = plain(usage_line(usage)) if usage else ""

    # The selected job's log and trace.

    @work(exclusive=True, group="log")
    async def _follow_log(self, job_id: str) -> None:
        log = self.query_one(LogView)
        await self.feeds.log(job_id, lambda: log.store.last_seq)

    @work(exclusive=True, group="trace")
    async def _follow_trace(self, job_id: str) -> None:
        await self.feeds.trace(job_id)

    def on_log_lines(self, event: m.LogLines) -> None:
        if event.job_id == self.selected:
            self.query_one(LogView).append(event.lines)

    def on_log_ended(self, event: m.LogEnded) -> None:
        if event.job_id == self.selected:
            self.query_one(LogView).note(f"── end of log: the job {event.state.name} ──")

    def on_log_interrupted(self, event: m.LogInterrupted) -> None:
        if event.job_id == self.selected:
            self.query_one(LogView).note(
                f"── connection lost; resuming after line {event.after_seq} when hodeid is back ──"
            )

    def on_explained(self, event: m.Explained) -> None:
        if event.job_id == self.selected:
            self.query_one(DecisionTrace).show(event.job_id, event.explained)

    def on_decision_made(self, event: m.DecisionMade) -> None:
        self.query_one(DecisionTrace).add_decision(event.decision)

    def on_refused(self, event: m.Refused) -> None:
        self.tell(event.error, title=f"{event.what} refused", severity="error", timeout=8)

    @on(LogView.StatusChanged)
    def _log_status(self, event: LogView.StatusChanged) -> None:
        event.log.border_subtitle = plain(event.log.status())  # it quotes the search text

    @on(LogView.SearchRequested)
    def _search(self, event: LogView.SearchRequested) -> None:
        def found(needle: str | None) -> None:
            if needle is not None:
                event.log.search(needle)

        self.app.push_screen(
            PromptScreen("Search the log", "text (lower case: any case)", event.log.needle), found
        )

    # Actions.

    def tell(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None:
        """A toast whose message may hold ids, names or the daemon's words: shown as data."""
        self.notify(
            printable(message), title=printable(title), severity=severity, timeout=timeout, markup=False
        )

    def _job(self) -> v1.Job | None:
        table = self.query_one(JobsTable)
        job_id = table.selected_id
        if job_id is None:
            self.notify("no job selected", severity="warning")
            return None
        return table.jobs[job_id]

    def action_submit(self) -> None:
        def submitted(job: v1.Job | None) -> None:
            if job is not None:
                self.tell(f"job {short_id(job.id)} submitted", timeout=3)
                self.query_one(JobsTable).upsert(job)
                self._goto(job.id)

        self.app.push_screen(SubmitScreen(self.client), submitted)

    def action_cancel(self) -> None:
        if (job := self._job()) is not None:
            if job.state in FINISHED:
                self.tell(f"job {short_id(job.id)} already ended ({job.state.name})", severity="warning")
                return
            job_id = job.id

            def answered(yes: bool | None) -> None:
                if yes:
                    self._request(
                        "cancel",
                        f"cancel requested for {short_id(job_id)}",
                        self.client.cancel_job(job_id, CANCEL_REASON),
                    )

            question = plain(f"Cancel job {short_id(job_id)} ({job.state.name})? It cannot be undone.")
            self.app.push_screen(ConfirmScreen(question), answered)

    def action_retry(self) -> None:
        if (job := self._job()) is not None:
            self._request("retry", f"job {short_id(job.id)} queued again", self.client.retry_job(job.id))

    def action_drain(self) -> None:
        panel = self.query_one(WorkersPanel)
        worker_id = panel.selected_id
        if worker_id is None:
            self.notify("no worker selected (pane 2)", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._request(
                    "drain", f"worker {worker_id} draining", self.client.drain_worker(worker_id, stay=True)
                )

        question = plain(f"Drain worker {worker_id}? It finishes its jobs and takes no new ones.")
        self.app.push_screen(ConfirmScreen(question), answered)

    @work(group="requests")
    async def _request(self, what: str, done: str, call: Awaitable[object]) -> None:
        try:
            await call
        except HodeiError as exc:
            self.post_message(m.Refused(what, str(exc)))
            return
        self.tell(done, timeout=3)

    def action_goto(self) -> None:
        def chosen(text: str | None) -> None:
            if text:
                self._goto(text.strip())

        self.app.push_screen(PromptScreen("Go to job", "job id, or its first characters"), chosen)

    def _goto(self, prefix: str) -> None:
        table = self.query_one(JobsTable)
        matches = [j for j in table.jobs if j.startswith(prefix)]
        if len(matches) > 1:
            self.tell(f"{len(matches)} jobs start with {prefix!r}; type more of the id", severity="warning")
            return
        if not matches:
            self._fetch_job(prefix)
            return
        job_id = matches[0]
        if job_id not in table.rows:
            table.state_filter, table.text_filter = None, ""
            table.rebuild()
        table.move_cursor(row=table.get_row_index(job_id))
        self._show_pane("jobs")

    @work(group="requests")
    async def _fetch_job(self, job_id: str) -> None:
        # Older than the jobs listed: ask the daemon for it.
        try:
            job = await self.client.get_job(job_id)
        except HodeiError as exc:
            self.post_message(m.Refused("go to", str(exc)))
            return
        self.query_one(JobsTable).upsert(job)
        self._goto(job.id)

    def action_filter(self) -> None:
        table = self.query_one(JobsTable)

        def chosen(text: str | None) -> None:
            if text is not None:
                table.set_text_filter(text)

        self.app.push_screen(
            PromptScreen("Filter jobs", "text in id, name, worker or state (empty: all)", table.text_filter),
            chosen,
        )

    def action_cycle_state(self) -> None:
        self.query_one(JobsTable).action_cycle_state()

    def action_log_follow(self) -> None:
        self.query_one(LogView).action_follow()

    def action_log_search(self) -> None:
        self.query_one(LogView).action_search()

    def action_log_timestamps(self) -> None:
        self.query_one(LogView).action_toggle_timestamps()

    def action_log_wrap(self) -> None:
        self.query_one(LogView).action_toggle_wrap()

    def action_log_streams(self) -> None:
        self.query_one(LogView).action_cycle_streams()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        self.app.exit()
