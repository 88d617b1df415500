-- Job dependencies (JobSpec.after, after_any). A job records the jobs it was asked to run after
-- (as given, whole ids) and how many of them have not ended yet (waiting_on): a job waiting on
-- any is PENDING but not in the claim's index, so no scheduling pass looks at it however many
-- wait; the edges below settle in the transaction that ends a dependency.
ALTER TABLE jobs ADD COLUMN after_ok uuid[] NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN after_any uuid[] NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN waiting_on integer NOT NULL DEFAULT 0 CHECK (waiting_on >= 0);

DROP INDEX jobs_pending_class_idx;
CREATE INDEX jobs_pending_class_idx ON jobs (placement_class, priority DESC, created_at, id)
    WHERE state = 'PENDING' AND waiting_on = 0;

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
