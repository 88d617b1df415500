-- API bearer tokens, stored hashed (sha256 of the secret part), and who submitted each job.
CREATE TABLE api_tokens (
    id text PRIMARY KEY,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('read', 'admin')),
    secret_sha256 bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE UNIQUE INDEX api_tokens_name_idx ON api_tokens (name) WHERE revoked_at IS NULL;

ALTER TABLE jobs ADD COLUMN submitted_by text;

CREATE INDEX jobs_submitter_pending_idx ON jobs (submitted_by) WHERE state = 'PENDING';
