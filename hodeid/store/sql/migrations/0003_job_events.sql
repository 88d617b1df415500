-- Every change to a job row is announced on channel hodei_jobs with the job's id: each daemon
-- sharing the database hears every change, whoever made it, and tells its watchers.
CREATE FUNCTION notify_job_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hodei_jobs', NEW.id::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE ON jobs
    FOR EACH ROW EXECUTE FUNCTION notify_job_change();
