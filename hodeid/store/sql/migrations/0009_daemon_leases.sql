-- Several daemons on one database: each holds a lease, renewed by the database's clock, and
-- each worker stream and attempt records the daemon and stream that hold it, so a daemon
-- settles an attempt LOST only when no live stream anywhere holds it (see absent_attempts).
CREATE TABLE daemons (
    id text PRIMARY KEY,
    address text NOT NULL,
    version text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    renewed_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    stopped_at timestamptz
);

-- The stream a worker has now (or had last): its daemon, its session, when it opened and,
-- once it ended, when.
ALTER TABLE workers ADD COLUMN daemon_id text;
ALTER TABLE workers ADD COLUMN session_id text;
ALTER TABLE workers ADD COLUMN attached_at timestamptz;
ALTER TABLE workers ADD COLUMN detached_at timestamptz;
CREATE INDEX workers_daemon_idx ON workers (daemon_id) WHERE detached_at IS NULL;

-- The daemon and worker stream that hold the attempt: set when it is dispatched, moved when
-- the worker brings it to another stream (adoption), so a late verdict on an older stream
-- is fenced out.
ALTER TABLE attempts ADD COLUMN daemon_id text;
ALTER TABLE attempts ADD COLUMN session_id text;
