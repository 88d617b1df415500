-- The whole current schema. migrations/ builds the same thing step by step;
-- tests/migration checks that the two agree.

CREATE TYPE job_state AS ENUM (
    'PENDING', 'ASSIGNED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'
);

CREATE TYPE attempt_outcome AS ENUM (
    'ACTIVE', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'LOST', 'NOT_ACKNOWLEDGED'
);

CREATE TYPE log_stream AS ENUM ('STDOUT', 'STDERR', 'SYSTEM');

CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    command text[] NOT NULL CHECK (cardinality(command) > 0),
    env jsonb NOT NULL DEFAULT '{}',
    cwd text NOT NULL DEFAULT '',
    selector text[] NOT NULL DEFAULT '{}',
    cpu double precision NOT NULL DEFAULT 0,
    memory_mb bigint NOT NULL DEFAULT 0,
    priority integer NOT NULL DEFAULT 0,
    timeout_seconds double precision NOT NULL DEFAULT 0,
    max_retries integer NOT NULL DEFAULT 0,
    retry_backoff_seconds double precision NOT NULL DEFAULT 0,
    kill_grace_seconds double precision NOT NULL DEFAULT 0,
    idempotency_key text UNIQUE,
    state job_state NOT NULL DEFAULT 'PENDING',
    attempt integer NOT NULL DEFAULT 0,
    -- Attempts that failed, timed out or were lost: what --retries counts.
    failures integer NOT NULL DEFAULT 0,
    worker_id text,
    exit_code integer,
    signal integer,
    reason text NOT NULL DEFAULT '',
    -- Set when a cancel is asked for a job a worker holds: sent again when the worker
    -- reconnects; the job is not retried or requeued after it.
    cancel_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- A retried job waits for its backoff: it is not placed before this. A job that waited
    -- on dependencies could run from this on (set when the last ended).
    run_after timestamptz NOT NULL DEFAULT now(),
    assigned_at timestamptz,
    started_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- The API token that submitted it, for the per-submitter limit on pending jobs.
    submitted_by text,
    -- Jobs of one class ask for the same selector, cpu and memory (hodeid.domain.classes):
    -- the scheduler skips a class that fits nowhere.
    placement_class text NOT NULL,
    -- The jobs it runs after (JobSpec.after, after_any), as given; the edges are in
    -- job_dependencies.
    after_ok uuid[] NOT NULL DEFAULT '{}',
    after_any uuid[] NOT NULL DEFAULT '{}',
    -- How many of them have not ended yet: a job waiting on any is not in the claim's index.
    waiting_on integer NOT NULL DEFAULT 0 CHECK (waiting_on >= 0),
    -- Totals over its attempts' usage (CPU and wall summed, max_rss_bytes the highest); NULL
    -- until an attempt reports it.
    cpu_user_seconds double precision,
    cpu_system_seconds double precision,
    max_rss_bytes bigint,
    wall_seconds double precision,
    -- The schedule whose run this is, and the time the run was planned for.
    schedule text,
    planned_at timestamptz
);

-- The claim takes the head of each class not skipped, in priority order, among the jobs that
-- wait on no dependency.
CREATE INDEX jobs_pending_class_idx ON jobs (placement_class, priority DESC, created_at, id)
    WHERE state = 'PENDING' AND waiting_on = 0;
CREATE INDEX jobs_active_idx ON jobs (worker_id) WHERE state IN ('ASSIGNED', 'RUNNING');
CREATE INDEX jobs_created_idx ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_submitter_pending_idx ON jobs (submitted_by) WHERE state = 'PENDING';

CREATE TABLE attempts (
    job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    number integer NOT NULL,
    worker_id text NOT NULL,
    outcome attempt_outcome NOT NULL DEFAULT 'ACTIVE',
    exit_code integer,
    signal integer,
    reason text NOT NULL DEFAULT '',
    assigned_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    -- The daemon and worker stream that hold it (moved when the worker brings it to another
    -- stream): a verdict reached on an older stream is fenced out.
    daemon_id text,
    session_id text,
    -- What the kernel counted for it (the worker's Finished.usage); NULL if not reported.
    cpu_user_seconds double precision,
    cpu_system_seconds double precision,
    max_rss_bytes bigint,
    wall_seconds double precision,
    PRIMARY KEY (job_id, number)
);

CREATE TABLE log_lines (
    job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    attempt integer NOT NULL,
    stream log_stream NOT NULL,
    data bytea NOT NULL,
    ts timestamptz NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- A record of workers seen, for history and listing. Never used to decide availability:
-- that is the daemon's live session registry.
CREATE TABLE workers (
    id text PRIMARY KEY,
    hostname text NOT NULL,
    labels jsonb NOT NULL DEFAULT '{}',
    slots integer NOT NULL,
    cpu double precision NOT NULL,
    memory_mb bigint NOT NULL,
    version text NOT NULL DEFAULT '',
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    sessions integer NOT NULL DEFAULT 1,
    -- Its stream now (or last): the daemon, the session, when it opened and when it ended.
    daemon_id text,
    session_id text,
    attached_at timestamptz,
    detached_at timestamptz,
    -- The newest recorded Hello's process and its count of streams (an older one is refused).
    incarnation text NOT NULL DEFAULT '',
    stream bigint NOT NULL DEFAULT 0
);

CREATE INDEX workers_daemon_idx ON workers (daemon_id) WHERE detached_at IS NULL;

-- The daemons sharing this database: each renews its lease by the database's clock; one
-- whose lease ran out (or that stopped) holds no worker stream any more.
CREATE TABLE daemons (
    id text PRIMARY KEY,
    address text NOT NULL,
    version text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    renewed_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    stopped_at timestamptz,
    -- Set by the daemon that holds the leader's lock, at each renewal; cleared when it stops
    -- leading or another takes the lead.
    leading_since timestamptz
);

-- Placement decisions: the latest and the distinct earlier ones of each job.
CREATE TABLE decisions (
    id bigserial PRIMARY KEY,
    job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    decided_at timestamptz NOT NULL,
    outcome text NOT NULL,
    worker_id text,
    strategy text NOT NULL,
    duration_ms double precision NOT NULL,
    -- [[target, kind, reason, message, could_fit, score], ...]
    verdicts jsonb NOT NULL,
    -- The daemon that made it.
    daemon_id text
);

CREATE INDEX decisions_job_idx ON decisions (job_id, id DESC);

-- Every change to job rows is announced on channel hodei_jobs with the changed jobs' ids
-- (comma-separated, at most 200 per notification), once per statement: each daemon sharing
-- the database hears every change, whoever made it, and tells its watchers.
CREATE FUNCTION notify_job_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hodei_jobs', string_agg(id::text, ','))
    FROM (SELECT id, (row_number() OVER ()) / 200 AS chunk FROM changed_jobs) AS numbered
    GROUP BY chunk;
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_inserted_notify AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS changed_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_job_changes();

CREATE TRIGGER jobs_updated_notify AFTER UPDATE ON jobs
    REFERENCING NEW TABLE AS changed_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_job_changes();

CREATE TYPE dependency_kind AS ENUM ('AFTER_OK', 'AFTER_ANY');

-- Job dependencies (JobSpec.after, after_any): job_id runs after depends_on. An edge is settled
-- (settled_state set to the dependency's final state) in the transaction that ends the
-- dependency, by the trigger below, or at once at submit when it had already ended.
CREATE TABLE job_dependencies (
    job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    depends_on uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    kind dependency_kind NOT NULL,
    settled_state job_state,
    PRIMARY KEY (job_id, depends_on)
);

-- What a job that ends frees: only the edges still waiting on it.
CREATE INDEX job_dependencies_unsettled_idx ON job_dependencies (depends_on)
    WHERE settled_state IS NULL;

-- When jobs end (in any way: an attempt settled, a cancel, by any daemon or by hand), the jobs
-- that wait on them count them in the same transaction: each edge records the state, each
-- dependent's waiting_on drops by its edges settled (one that reaches 0 may run from now on:
-- run_after, from which its start latency counts), and a PENDING dependent whose AFTER_OK
-- dependency ended otherwise than SUCCEEDED ends CANCELLED, naming it (the words of
-- hodeid.domain.dependencies.ended_reason); those end in turn, and so on down the chain, in a
-- loop here rather than by nesting: the updates made here fire this trigger again, which
-- returns at once. A retry back to PENDING is no end: only the final state counts.
-- Dependents are locked in id order, so that two transactions settling dependencies of the
-- same jobs wait for each other instead of deadlocking, and FOR UPDATE, as every move of a job
-- to a final state, which a submission naming it as a dependency waits for (lock_dependencies
-- in queries.sql).
CREATE FUNCTION settle_dependents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ended uuid[];
    dependents uuid[];
    counts integer[];
    reasons text[];
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(id) INTO ended FROM changed_jobs
    WHERE state IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT');
    WHILE ended IS NOT NULL LOOP
        WITH edges AS (
            UPDATE job_dependencies e SET settled_state = j.state
            FROM jobs j
            WHERE e.depends_on = ANY(ended) AND e.settled_state IS NULL AND j.id = e.depends_on
            RETURNING e.job_id, e.depends_on, e.kind, e.settled_state
        ), per_job AS (
            SELECT job_id, count(*)::integer AS n,
                   string_agg(format('dependency %s ended %s; --after needs it SUCCEEDED',
                                     depends_on, settled_state), '; ' ORDER BY depends_on)
                       FILTER (WHERE kind = 'AFTER_OK' AND settled_state <> 'SUCCEEDED') AS why
            FROM edges GROUP BY job_id
        )
        SELECT array_agg(job_id ORDER BY job_id), array_agg(n ORDER BY job_id),
               array_agg(why ORDER BY job_id)
        INTO dependents, counts, reasons FROM per_job;
        EXIT WHEN dependents IS NULL;
        PERFORM 1 FROM jobs WHERE id = ANY(dependents) ORDER BY id FOR UPDATE;
        WITH d AS (SELECT * FROM unnest(dependents, counts, reasons) AS d (id, n, why)),
        updated AS (
            UPDATE jobs j
            SET waiting_on = j.waiting_on - d.n,
                run_after = CASE WHEN j.waiting_on = d.n THEN greatest(j.run_after, now())
                                 ELSE j.run_after END,
                state = CASE WHEN d.why IS NOT NULL AND j.state = 'PENDING' THEN 'CANCELLED'
                             ELSE j.state END,
                reason = CASE WHEN d.why IS NOT NULL AND j.state = 'PENDING' THEN d.why
                              ELSE j.reason END,
                finished_at = CASE WHEN d.why IS NOT NULL AND j.state = 'PENDING' THEN now()
                                   ELSE j.finished_at END,
                updated_at = now()
            FROM d
            WHERE j.id = d.id
            RETURNING j.id, d.why IS NOT NULL AND j.state = 'CANCELLED' AS cancelled
        )
        SELECT array_agg(id) FILTER (WHERE cancelled) INTO ended FROM updated;
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_ended_settle_dependents AFTER UPDATE ON jobs
    REFERENCING NEW TABLE AS changed_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION settle_dependents();

-- API bearer tokens, stored hashed (sha256 of the secret part).
CREATE TABLE api_tokens (
    id text PRIMARY KEY,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('read', 'admin')),
    secret_sha256 bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE UNIQUE INDEX api_tokens_name_idx ON api_tokens (name) WHERE revoked_at IS NULL;

-- Per-worker credentials: the sha256 of the secret each worker id that joined with the
-- cluster token was issued; only that secret may claim the id again.
CREATE TABLE worker_credentials (
    worker_id text PRIMARY KEY,
    secret_sha256 bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Every revocation of an API token is announced on channel hodei_tokens with the token's id,
-- in the revoking transaction, whoever revokes it (hodeid token revoke, or SQL by hand): each
-- daemon sharing the database hears it and ends the streams opened with that token.
CREATE FUNCTION notify_token_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hodei_tokens', NEW.id);
    RETURN NULL;
END;
$$;

CREATE TRIGGER api_tokens_revoked_notify AFTER UPDATE OF revoked_at ON api_tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION notify_token_revoked();

-- Provisioning tokens: the sha256 of the one-time token a provider's worker joins with (bound
-- to its worker id, expiring, used once) and of the resume token it got in exchange, so every
-- daemon sharing the database admits it. Revoked when the worker is destroyed.
CREATE TABLE join_tokens (
    token_sha256 bytea PRIMARY KEY,
    worker_id text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    resume_sha256 bytea UNIQUE,
    revoked_at timestamptz,
    -- The provider that created the worker (NULL for tokens issued before it was recorded).
    provider text
);

CREATE INDEX join_tokens_worker_id_idx ON join_tokens (worker_id) WHERE revoked_at IS NULL;

-- Schedules: jobs submitted on a timetable (see hodeid.domain.timetables).
CREATE TABLE schedules (
    id uuid PRIMARY KEY,
    name text NOT NULL UNIQUE,
    -- Five cron fields read in timezone (empty: UTC), or every_seconds from created_at.
    cron text NOT NULL DEFAULT '',
    timezone text NOT NULL DEFAULT '',
    every_seconds double precision NOT NULL DEFAULT 0,
    overlap text NOT NULL CHECK (overlap IN ('SKIP', 'ALLOW', 'CANCEL_PREVIOUS')),
    catch_up text NOT NULL CHECK (catch_up IN ('ONE', 'NONE')),
    -- The job each run submits: a serialized hodei.v1.JobSpec, so that every job option
    -- comes along, and its placement class.
    job_spec bytea NOT NULL,
    placement_class text NOT NULL,
    paused boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    -- The next planned run; moved on in the transaction that fires (or skips) a run, so each
    -- planned run fires once whichever daemons look.
    next_run timestamptz NOT NULL,
    last_job_id uuid REFERENCES jobs (id) ON DELETE SET NULL,
    last_planned timestamptz
);

CREATE INDEX schedules_due_idx ON schedules (next_run) WHERE NOT paused;
