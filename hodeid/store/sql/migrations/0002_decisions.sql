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
    verdicts jsonb NOT NULL
);

CREATE INDEX decisions_job_idx ON decisions (job_id, id DESC);
