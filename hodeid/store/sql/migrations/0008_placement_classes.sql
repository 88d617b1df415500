-- Each job's placement class: jobs of one class ask for the same selector, cpu and memory, so
-- they fit the same workers, and the scheduler skips a class that fits nowhere instead of
-- looking at each of its jobs again (hodeid.domain.classes computes it for new jobs). Jobs
-- already stored get a digest of the same three fields: it groups only jobs that ask for the
-- same things, which is all a class must do, though it is not the digest new jobs get.
ALTER TABLE jobs ADD COLUMN placement_class text;
UPDATE jobs SET placement_class = md5(selector::text || ' ' || cpu::text || ' ' || memory_mb::text);
ALTER TABLE jobs ALTER COLUMN placement_class SET NOT NULL;

-- The claim takes the head of each class not skipped, in priority order, from this index.
DROP INDEX jobs_pending_idx;
CREATE INDEX jobs_pending_class_idx ON jobs (placement_class, priority DESC, created_at, id)
    WHERE state = 'PENDING';
