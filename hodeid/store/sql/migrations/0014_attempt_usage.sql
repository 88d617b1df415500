-- What the kernel counted for each attempt (the worker's Finished.usage), and each job's totals
-- over its attempts (CPU and wall summed, max_rss_bytes the highest), kept as attempts settle so
-- that listing jobs reads no attempts. NULL when no attempt reported it.
ALTER TABLE attempts
    ADD COLUMN cpu_user_seconds double precision,
    ADD COLUMN cpu_system_seconds double precision,
    ADD COLUMN max_rss_bytes bigint,
    ADD COLUMN wall_seconds double precision;
ALTER TABLE jobs
    ADD COLUMN cpu_user_seconds double precision,
    ADD COLUMN cpu_system_seconds double precision,
    ADD COLUMN max_rss_bytes bigint,
    ADD COLUMN wall_seconds double precision;
