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
