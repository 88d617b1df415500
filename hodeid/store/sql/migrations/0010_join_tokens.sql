-- Provisioning tokens in the database, so every daemon sharing it admits a provisioned worker:
-- the sha256 of the one-time token a provider's worker joins with (bound to its worker id,
-- expiring), and of the resume token it got in exchange. Revoked when the worker is destroyed.
CREATE TABLE join_tokens (
    token_sha256 bytea PRIMARY KEY,
    worker_id text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    resume_sha256 bytea UNIQUE,
    revoked_at timestamptz
);

CREATE INDEX join_tokens_worker_id_idx ON join_tokens (worker_id) WHERE revoked_at IS NULL;
