-- The order of a worker's streams: the process (incarnation) and its count of streams opened
-- that the newest recorded Hello carried. An older Hello of the same process is refused.
ALTER TABLE workers ADD COLUMN incarnation text NOT NULL DEFAULT '';
ALTER TABLE workers ADD COLUMN stream bigint NOT NULL DEFAULT 0;
