-- Schedules: jobs submitted on a timetable. Each run is a job that records its schedule and
-- the time it was planned for.
ALTER TABLE jobs ADD COLUMN schedule text;
ALTER TABLE jobs ADD COLUMN planned_at timestamptz;

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
