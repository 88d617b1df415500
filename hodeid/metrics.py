"""The daemon's Prometheus series, in a registry of their own (what ``--metrics-listen``
serves). Counters and the histogram are updated where things happen; the gauges are set
from the database and the session registry by ``hodeid.api.metrics`` before they are read."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

JOBS = Gauge("hodei_jobs", "Jobs in the database by state.", ["state"], registry=REGISTRY)
QUEUE_DEPTH = Gauge(
    "hodei_queue_depth",
    "Jobs waiting for a worker (PENDING, not waiting on dependencies).",
    registry=REGISTRY,
)
WAITING_ON_DEPENDENCIES = Gauge(
    "hodei_jobs_waiting_on_dependencies",
    "PENDING jobs that wait on jobs not yet ended (--after, --after-any).",
    registry=REGISTRY,
)
WORKERS = Gauge(
    "hodei_workers",
    "Workers connected to this daemon by state: ready (a free slot), full, draining.",
    ["state"],
    registry=REGISTRY,
)
START_LATENCY = Histogram(
    "hodei_job_start_latency_seconds",
    "From submission (or, for a job that waited on dependencies, from when the last of them "
    "ended) to the worker starting the job's first attempt.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
DECISIONS = Counter(
    "hodei_decisions",
    "Distinct placement decisions recorded, by outcome and leading reason (FITS when placed, "
    "else the reason most workers and providers gave).",
    ["outcome", "reason"],
    registry=REGISTRY,
)
DATABASE_SECONDS = Histogram(
    "hodei_database_seconds",
    "Time of each database operation (a query, a batch or a transaction), failures included.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
    registry=REGISTRY,
)
LOG_LINES = Counter("hodei_log_lines", "Job output lines received for storage.", registry=REGISTRY)
LOG_BYTES = Counter("hodei_log_bytes", "Bytes of job output received for storage.", registry=REGISTRY)
TOKEN_CACHE_HITS = Counter(
    "hodei_token_cache_hits",
    "API calls whose token was verified from memory (verified before, not revoked since) "
    "rather than looked up in the database.",
    registry=REGISTRY,
)
AUTH_REFUSALS = Counter(
    "hodei_auth_refusals",
    "Requests refused by the token check, by status (UNAUTHENTICATED, PERMISSION_DENIED).",
    ["status"],
    registry=REGISTRY,
)
WORKER_REFUSALS = Counter(
    "hodei_worker_refusals",
    "Worker streams refused at Hello, by reason: token (a wrong, used or expired join token) or "
    "credential (a worker id bound to a credential the Hello does not present, or a fresh id "
    "whose Hello presents no fit credential).",
    ["reason"],
    registry=REGISTRY,
)
TLS_HANDSHAKE_FAILURES = Counter(
    "hodei_tls_handshake_failures",
    "TLS handshakes of gRPC connections that failed (plaintext clients, untrusted certificates, timeouts).",
    registry=REGISTRY,
)
ATTEMPT_CPU_USER = Counter(
    "hodei_attempt_cpu_user_seconds",
    "CPU time in user mode of the attempts that ended, as their workers' kernels counted it "
    "(the job's process and the descendants it waited for), by attempt outcome.",
    ["outcome"],
    registry=REGISTRY,
)
ATTEMPT_CPU_SYSTEM = Counter(
    "hodei_attempt_cpu_system_seconds",
    "CPU time in the kernel of the attempts that ended, by attempt outcome.",
    ["outcome"],
    registry=REGISTRY,
)
ATTEMPT_WALL = Counter(
    "hodei_attempt_wall_seconds",
    "Time from start to exit of the attempts that ended, by attempt outcome.",
    ["outcome"],
    registry=REGISTRY,
)
ATTEMPT_MAX_RSS = Counter(
    "hodei_attempt_max_rss_bytes",
    "Sum of the peak resident set sizes of the attempts that ended, by attempt outcome: divided "
    "by hodei_attempts_measured_total, the mean peak per attempt.",
    ["outcome"],
    registry=REGISTRY,
)
ATTEMPTS_MEASURED = Counter(
    "hodei_attempts_measured",
    "Attempts that ended with their usage reported (what the hodei_attempt_* sums are over), "
    "by attempt outcome.",
    ["outcome"],
    registry=REGISTRY,
)
