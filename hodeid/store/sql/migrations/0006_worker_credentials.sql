-- Per-worker credentials: a worker id that joined with the cluster token is bound to the
-- secret issued in its first Welcome; only its sha256 is kept. Deleting the row (hodeid
-- worker forget) releases the id.
CREATE TABLE worker_credentials (
    worker_id text PRIMARY KEY,
    secret_sha256 bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
