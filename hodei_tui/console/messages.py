"""What the console's workers and widgets tell each other, as dataclass messages."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from hodei_api import v1
from hodei_api.loglines import Line


@dataclass
class JobsListed(Message):
    """The daemon's first listing of jobs (again after a gap): replaces the table's rows."""

    jobs: list[v1.Job]


@dataclass
class JobChanged(Message):
    job: v1.Job


@dataclass
class WorkersListed(Message):
    workers: list[v1.WorkerInfo]


@dataclass
class WorkerChanged(Message):
    worker: v1.WorkerInfo


@dataclass
class SchedulesListed(Message):
    """The daemon's schedules, as last asked."""

    schedules: list[v1.Schedule]


@dataclass
class Connected(Message):
    """Both watch streams are up, on the daemon at ``addr``."""

    addr: str


@dataclass
class Disconnected(Message):
    """A watch stream from the daemon at ``addr`` failed: it is unreachable. ``retry_in`` is
    the backoff."""

    addr: str
    error: str
    attempts: int
    retry_in: float


@dataclass
class LogLines(Message):
    job_id: str
    lines: list[Line]


@dataclass
class LogEnded(Message):
    """The job's log is complete: the job ended in ``state``."""

    job_id: str
    state: v1.JobState


@dataclass
class LogInterrupted(Message):
    """The connection went while following; it resumes after ``after_seq``."""

    job_id: str
    after_seq: int


@dataclass
class Explained(Message):
    job_id: str
    explained: v1.ExplainJobResponse


@dataclass
class DecisionMade(Message):
    decision: v1.Decision


@dataclass
class Refused(Message):
    """A request was refused or failed: shown as an error notification."""

    what: str
    error: str
