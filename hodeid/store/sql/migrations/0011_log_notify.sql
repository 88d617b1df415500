-- Lines stored for a job are announced on channel hodei_logs as 'job id:greatest seq', once
-- per statement and job (a COPY or INSERT of many lines is one notification, not one a
-- line), in the storing transaction, whoever stores them: each daemon sharing the database
-- hears it and wakes its followers of that job, which read the lines from storage.
CREATE FUNCTION notify_log_lines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hodei_logs', job_id::text || ':' || max(seq))
    FROM stored_lines
    GROUP BY job_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER log_lines_stored_notify AFTER INSERT ON log_lines
    REFERENCING NEW TABLE AS stored_lines
    FOR EACH STATEMENT EXECUTE FUNCTION notify_log_lines();
