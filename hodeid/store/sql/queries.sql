-- Named queries, parsed once at import by hodeid/store/queries.py.
-- Each starts with "-- name: NAME"; the comment lines under it name the parameters.

-- name: insert_job
-- $1 id, $2 name, $3 command, $4 env (jsonb text), $5 cwd, $6 selector, $7 cpu,
-- $8 memory_mb, $9 priority, $10 timeout_seconds, $11 max_retries,
-- $12 retry_backoff_seconds, $13 kill_grace_seconds, $14 idempotency_key (or NULL),
-- $15 submitted_by (API token id, or NULL), $16 how many PENDING jobs $15 may have (or NULL),
-- $17 placement_class, $18 after_ok, $19 after_any, $20 waiting_on, $21 state (PENDING, or
-- CANCELLED when a dependency already broke), $22 reason
-- One row, in one round trip: pending_before ($15's PENDING jobs before this one) and the new
-- job's columns, all NULL if it was not inserted (the limit is reached, or the key is taken).
WITH pending AS (
    SELECT count(*) AS pending_before FROM jobs
    WHERE $15::text IS NOT NULL AND submitted_by = $15::text AND state = 'PENDING'
), inserted AS (
    INSERT INTO jobs (id, name, command, env, cwd, selector, cpu, memory_mb, priority,
                      timeout_seconds, max_retries, retry_backoff_seconds, kill_grace_seconds,
                      idempotency_key, submitted_by, placement_class, after_ok, after_any,
                      waiting_on, state, reason, finished_at)
    SELECT $1::uuid, $2::text, $3::text[], $4::jsonb, $5::text, $6::text[], $7::float8,
           $8::bigint, $9::integer, $10::float8, $11::integer, $12::float8, $13::float8,
           $14::text, $15::text, $17::text, $18::uuid[], $19::uuid[], $20::integer,
           $21::job_state, $22::text, CASE WHEN $21::job_state = 'PENDING' THEN NULL ELSE now() END
    FROM pending WHERE $16::bigint IS NULL OR pending_before < $16::bigint
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING *
)
SELECT pending.pending_before, inserted.* FROM pending LEFT JOIN inserted ON true;

-- name: insert_jobs
-- $1 jobs without dependencies, as a jsonb array of objects keyed by the column names below
-- (max_pending: how many PENDING jobs its submitted_by may have, or null). The group commit of
-- concurrent submissions: one statement, one transaction, one NOTIFY for all of them. A job
-- is inserted if its submitter stays within its limit counting the jobs before it in $1, and
-- its idempotency key is free; the inserted jobs are returned. Each one's created_at is the
-- time its row was made, in the order of $1, so that jobs submitted together are claimed in
-- the order they were submitted.
WITH new AS (
    SELECT * FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (
        id uuid, name text, command text[], env jsonb, cwd text, selector text[], cpu float8,
        memory_mb bigint, priority integer, timeout_seconds float8, max_retries integer,
        retry_backoff_seconds float8, kill_grace_seconds float8, idempotency_key text,
        submitted_by text, max_pending bigint, placement_class text
    )) WITH ORDINALITY
), pending AS (
    -- Counted up to the submitter's limit, all a decision needs: with a backlog of PENDING
    -- jobs a count of all of them was the submit's largest cost in PostgreSQL.
    SELECT s.submitted_by,
           (SELECT count(*) FROM (SELECT FROM jobs j
                                  WHERE j.submitted_by = s.submitted_by AND j.state = 'PENDING'
                                  LIMIT s.max_pending) AS counted) AS pending_before
    FROM (SELECT submitted_by, max(max_pending) AS max_pending FROM new
          WHERE submitted_by IS NOT NULL GROUP BY submitted_by) AS s
), ranked AS (
    SELECT new.*, coalesce(pending.pending_before, 0)
           + row_number() OVER (PARTITION BY new.submitted_by ORDER BY new.ordinality) - 1 AS ahead
    FROM new LEFT JOIN pending ON pending.submitted_by = new.submitted_by
)
INSERT INTO jobs (id, name, command, env, cwd, selector, cpu, memory_mb, priority,
                  timeout_seconds, max_retries, retry_backoff_seconds, kill_grace_seconds,
                  idempotency_key, submitted_by, placement_class, created_at)
SELECT id, name, command, env, cwd, selector, cpu, memory_mb, priority, timeout_seconds,
       max_retries, retry_backoff_seconds, kill_grace_seconds, idempotency_key, submitted_by,
       placement_class, clock_timestamp()
FROM ranked WHERE max_pending IS NULL OR ahead < max_pending
ORDER BY ordinality
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING *;

-- name: lock_dependencies
-- $1 job ids. Their states, each row key-share-locked until the submitting transaction ends.
-- Every move of a job to a final state locks its row FOR UPDATE first (lock_active_attempts,
-- cancel_pending_job, the trigger settle_dependents), which this lock holds off: a dependency
-- cannot end meanwhile unseen (the transaction that ends it waits, then its trigger finds the
-- new job's edges), nor end just before unseen (this waits for it, then reads it). The claim
-- (FOR NO KEY UPDATE) does not wait for it: a flood of dependents does not keep their
-- dependency from being placed.
SELECT id, state FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE;

-- name: insert_dependencies
-- $1 the dependent job, $2 the jobs it runs after, $3 their kinds, $4 the final state of those
-- that already ended (NULL for the others)
INSERT INTO job_dependencies (job_id, depends_on, kind, settled_state)
SELECT $1::uuid, d.depends_on, d.kind, d.settled_state
FROM unnest($2::uuid[], $3::dependency_kind[], $4::job_state[]) AS d (depends_on, kind, settled_state);

-- name: depends_on_any
-- $1 jobs, $2 a job: whether any of $1 is $2 or runs after it, directly or down a chain.
WITH RECURSIVE up (id) AS (
    SELECT unnest($1::uuid[])
    UNION
    SELECT e.depends_on FROM job_dependencies e JOIN up ON e.job_id = up.id
)
SELECT EXISTS (SELECT 1 FROM up WHERE id = $2::uuid);

-- name: unfinished_dependencies
-- $1 job id. The jobs it still waits on, as they are now.
SELECT e.depends_on, e.kind, j.state, j.name
FROM job_dependencies e JOIN jobs j ON j.id = e.depends_on
WHERE e.job_id = $1 AND e.settled_state IS NULL
ORDER BY e.depends_on;

-- name: get_job_by_idempotency_key
-- $1 idempotency_key
SELECT * FROM jobs WHERE idempotency_key = $1;

-- name: get_job
-- $1 id
SELECT * FROM jobs WHERE id = $1;

-- name: get_jobs
-- $1 ids
SELECT * FROM jobs WHERE id = ANY($1::uuid[]);

-- name: get_attempts
-- $1 job ids
SELECT * FROM attempts WHERE job_id = ANY($1::uuid[]) ORDER BY job_id, number;

-- name: list_jobs
-- $1 states (NULL for all), $2 limit, $3 cursor created_at (or NULL), $4 cursor id
SELECT * FROM jobs
WHERE ($1::job_state[] IS NULL OR state = ANY($1::job_state[]))
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $2;

-- name: count_jobs
-- $1 states (NULL for all): how many jobs list_jobs would list, page after page.
SELECT count(*) FROM jobs WHERE $1::job_state[] IS NULL OR state = ANY($1::job_state[]);

-- name: job_ids_in_range
-- $1 lowest id, $2 highest id, $3 limit. The ids a prefix starts are one range of the key.
SELECT id FROM jobs
WHERE id BETWEEN $1::uuid AND $2::uuid
ORDER BY created_at DESC, id DESC
LIMIT $3;

-- name: lock_pending_jobs
-- $1 limit, $2 placement classes to skip, $3 most classes to look into, $4 how far past the
-- limit to look (in rows) for rows another daemon has not locked.
-- The first $1 PENDING jobs that wait on no dependency (jobs_pending_class_idx holds only
-- those), in priority order among the classes not skipped, however many
-- jobs of skipped classes come first: the distinct classes are found by walking the index
-- (one descent per class, not one row per job), then each class gives its own head, read
-- without locking; the first $1 of those no other daemon holds are locked. Rows stay locked
-- until the claiming transaction ends; other daemons skip them.
WITH RECURSIVE classes AS (
    (SELECT placement_class AS class FROM jobs WHERE state = 'PENDING' AND waiting_on = 0
     ORDER BY placement_class LIMIT 1)
    UNION ALL
    SELECT (SELECT placement_class FROM jobs
            WHERE state = 'PENDING' AND waiting_on = 0 AND placement_class > c.class
            ORDER BY placement_class LIMIT 1)
    FROM classes c WHERE c.class IS NOT NULL
),
open AS (
    SELECT class FROM classes WHERE class IS NOT NULL AND class <> ALL($2::text[]) LIMIT $3
),
heads AS (
    SELECT h.id
    FROM open CROSS JOIN LATERAL (
        SELECT id, priority, created_at FROM jobs
        WHERE state = 'PENDING' AND waiting_on = 0 AND placement_class = open.class
          AND run_after <= now()
        ORDER BY priority DESC, created_at, id
        LIMIT $4
    ) h
    ORDER BY h.priority DESC, h.created_at, h.id
    LIMIT $4
)
SELECT id, selector, cpu, memory_mb, priority, placement_class FROM jobs
WHERE id IN (SELECT id FROM heads) AND state = 'PENDING' AND waiting_on = 0
ORDER BY priority DESC, created_at, id
LIMIT $1
FOR NO KEY UPDATE SKIP LOCKED;

-- name: assign_jobs
-- $1 job ids, $2 worker ids, $3 the sessions of those workers' streams (same order), $4 this
-- daemon. Each job assigned gets its new attempt, held by that stream, in the same statement.
WITH a AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) AS a (job_id, worker_id, session_id)),
     j AS (UPDATE jobs j
           SET state = 'ASSIGNED', attempt = j.attempt + 1, worker_id = a.worker_id,
               assigned_at = now(), updated_at = now(), exit_code = NULL, signal = NULL, reason = ''
           FROM a
           WHERE j.id = a.job_id AND j.state = 'PENDING'
           RETURNING j.*, a.session_id AS stream_session,
                     (SELECT coalesce(max(l.seq), 0) + 1 FROM log_lines l WHERE l.job_id = j.id)
                     AS first_seq),
     t AS (INSERT INTO attempts (job_id, number, worker_id, session_id, daemon_id)
           SELECT id, attempt, worker_id, stream_session, $4 FROM j)
SELECT * FROM j;

-- name: mark_running
-- $1 job ids, $2 attempts, $3 started_at. Only the current attempt, only from ASSIGNED. How
-- long the job waited to start: since it could run (run_after: set when its last dependency
-- ended, or a retry's backoff, which the first attempt never has).
WITH a AS (SELECT * FROM unnest($1::uuid[], $2::integer[], $3::timestamptz[])
           AS a (job_id, attempt, started_at)),
     j AS (UPDATE jobs j SET state = 'RUNNING', started_at = a.started_at, updated_at = now()
           FROM a WHERE j.id = a.job_id AND j.attempt = a.attempt AND j.state = 'ASSIGNED'
           RETURNING j.id, j.attempt, a.started_at, greatest(j.created_at, j.run_after) AS ready)
UPDATE attempts t SET started_at = j.started_at
FROM j WHERE t.job_id = j.id AND t.number = j.attempt
RETURNING t.job_id, t.number, extract(epoch FROM j.started_at - j.ready)::float8 AS waited;

-- name: lock_active_attempts
-- $1 job ids, $2 attempts, $3 states the job may be in. The current attempt only.
-- The attempt row is locked too, and its stream read as it is once locked: an adoption under
-- way (adopt_attempts) is waited for, so a verdict reached on an older stream is fenced out.
SELECT j.id, j.attempt, j.state, j.failures, j.max_retries, j.retry_backoff_seconds,
       j.cancel_reason, t.session_id
FROM jobs j
JOIN unnest($1::uuid[], $2::integer[]) AS a (job_id, attempt)
  ON j.id = a.job_id AND j.attempt = a.attempt
JOIN attempts t ON t.job_id = j.id AND t.number = j.attempt
WHERE j.state = ANY($3::job_state[])
ORDER BY j.id
FOR UPDATE OF j, t;

-- name: settle_jobs
-- $1 job ids, $2 attempts, $3 new job states, $4 exit codes, $5 signals, $6 reasons,
-- $7 started_at, $8 finished_at, $9 failures to add, $10 retry delays (seconds),
-- $11 CPU user seconds, $12 CPU system seconds, $13 peak RSS bytes, $14 wall seconds (NULL
-- when the attempt reported none), $15 attempt outcomes, $16 the states the job may be in.
-- Only a job still at that attempt and in one of $16 is settled, and its attempt with it (its
-- outcome, exit code or signal, reason, times and usage) in the same statement: the rows are
-- locked as they are updated, so this holds alone (an end whose job state does not depend on
-- the row) as well as after lock_active_attempts.
-- A job set back to PENDING is a retry: it keeps no worker, no finish time and no exit code
-- or signal (those of the attempt that ended stay on the attempt; the reason tells of it).
-- Its usage adds up over its attempts; max_rss_bytes is the highest (greatest skips NULLs).
-- waited: for a first attempt that starts here (it ended before it was marked RUNNING, as a
-- job that ends at once does), how long it waited to start, as mark_running says it.
-- waited_on: some job still waits on this one (settle_dependents settles it now).
WITH a AS (SELECT * FROM unnest($1::uuid[], $2::integer[], $3::job_state[], $4::integer[],
                                $5::integer[], $6::text[], $7::timestamptz[],
                                $8::timestamptz[], $9::integer[], $10::double precision[],
                                $11::double precision[], $12::double precision[], $13::bigint[],
                                $14::double precision[], $15::attempt_outcome[])
           AS a (job_id, attempt, state, exit_code, signal, reason, started_at, finished_at,
                 add_failures, delay, cpu_user_seconds, cpu_system_seconds, max_rss_bytes,
                 wall_seconds, outcome)),
     was AS (SELECT id, started_at, greatest(created_at, run_after) AS ready
             FROM jobs WHERE id = ANY($1::uuid[])),
     j AS (UPDATE jobs j
           SET state = a.state,
               exit_code = CASE WHEN a.state = 'PENDING' THEN NULL ELSE a.exit_code END,
               signal = CASE WHEN a.state = 'PENDING' THEN NULL ELSE a.signal END,
               reason = a.reason,
               failures = j.failures + a.add_failures,
               started_at = coalesce(j.started_at, a.started_at),
               finished_at = CASE WHEN a.state = 'PENDING' THEN NULL ELSE a.finished_at END,
               worker_id = CASE WHEN a.state = 'PENDING' THEN NULL ELSE j.worker_id END,
               run_after = CASE WHEN a.state = 'PENDING' THEN now() + make_interval(secs => a.delay)
                                ELSE j.run_after END,
               cpu_user_seconds = CASE WHEN a.cpu_user_seconds IS NULL THEN j.cpu_user_seconds
                                       ELSE coalesce(j.cpu_user_seconds, 0) + a.cpu_user_seconds END,
               cpu_system_seconds = CASE WHEN a.cpu_system_seconds IS NULL THEN j.cpu_system_seconds
                                         ELSE coalesce(j.cpu_system_seconds, 0) + a.cpu_system_seconds END,
               max_rss_bytes = greatest(j.max_rss_bytes, a.max_rss_bytes),
               wall_seconds = CASE WHEN a.wall_seconds IS NULL THEN j.wall_seconds
                                   ELSE coalesce(j.wall_seconds, 0) + a.wall_seconds END,
               updated_at = now()
           FROM a JOIN was ON was.id = a.job_id
           WHERE j.id = a.job_id AND j.attempt = a.attempt AND j.state = ANY($16::job_state[])
           RETURNING j.id, j.attempt, j.state,
                     CASE WHEN j.attempt = 1 AND was.started_at IS NULL
                          THEN extract(epoch FROM a.started_at - was.ready)::float8 END AS waited,
                     EXISTS (SELECT 1 FROM job_dependencies e
                             WHERE e.depends_on = j.id AND e.settled_state IS NULL) AS waited_on),
     t AS (UPDATE attempts t
           SET outcome = a.outcome, exit_code = a.exit_code, signal = a.signal, reason = a.reason,
               started_at = coalesce(t.started_at, a.started_at), finished_at = a.finished_at,
               cpu_user_seconds = a.cpu_user_seconds, cpu_system_seconds = a.cpu_system_seconds,
               max_rss_bytes = a.max_rss_bytes, wall_seconds = a.wall_seconds
           FROM a JOIN j ON j.id = a.job_id AND j.attempt = a.attempt
           WHERE t.job_id = a.job_id AND t.number = a.attempt)
SELECT * FROM j;

-- name: cancel_pending_job
-- $1 id, $2 reason. Locked FOR UPDATE first, as every move to a final state (lock_dependencies).
WITH locked AS (SELECT id FROM jobs WHERE id = $1 AND state = 'PENDING' FOR UPDATE)
UPDATE jobs j SET state = 'CANCELLED', reason = $2, finished_at = now(), updated_at = now()
FROM locked WHERE j.id = locked.id AND j.state = 'PENDING'
RETURNING j.*;

-- name: retry_finished_job
-- $1 id, $2 reason, $3 the finished states (hodeid.domain.states.TERMINAL). Only a finished
-- job; its attempts and log stay, its next dispatch is attempt + 1 and its retry budget starts
-- afresh.
UPDATE jobs
SET state = 'PENDING', failures = 0, exit_code = NULL, signal = NULL, reason = $2,
    cancel_reason = NULL, worker_id = NULL, started_at = NULL, finished_at = NULL,
    run_after = now(), updated_at = now()
WHERE id = $1 AND state = ANY($3::job_state[])
RETURNING *;

-- name: count_jobs_by_state
-- How many jobs are in each state, and of them how many wait on dependencies.
SELECT state, count(*) AS n, count(*) FILTER (WHERE waiting_on > 0) AS waiting FROM jobs GROUP BY state;

-- name: held_by_worker
-- $1 worker id, $2 its new stream. The attempts the store gives the worker, whether each
-- started, and the stream that holds it; none unless $2 is still the worker's newest recorded
-- stream (a newer one, on any daemon, may hold attempts this stream's Hello could not list).
-- The states are hodeid.domain.states.ACTIVE written out, not a parameter: only a literal lets
-- a generic plan use jobs_active_idx (tests/unit/test_state_sets.py keeps them equal).
SELECT j.id, j.attempt, j.state = 'RUNNING' AS started, t.session_id
FROM jobs j
JOIN attempts t ON t.job_id = j.id AND t.number = j.attempt
JOIN workers w ON w.id = j.worker_id AND w.session_id = $2
WHERE j.worker_id = $1 AND j.state IN ('ASSIGNED', 'RUNNING');

-- name: adopt_attempts
-- $1 worker id, $2 this daemon, $3 the worker's new stream, $4 job ids, $5 attempts, $6 the
-- states a held job is in (hodeid.domain.states.ACTIVE): those the worker says it runs that
-- are still current move to the new stream. The attempt row's own
-- outcome decides (rechecked once a settlement under way commits), so an attempt is either
-- settled or adopted, never both.
UPDATE attempts t SET daemon_id = $2, session_id = $3
FROM jobs j, unnest($4::uuid[], $5::integer[]) AS r (job_id, attempt)
WHERE t.job_id = r.job_id AND t.number = r.attempt AND t.outcome = 'ACTIVE' AND t.worker_id = $1
  AND j.id = t.job_id AND j.attempt = t.number AND j.state = ANY($6::job_state[])
RETURNING t.job_id, t.number, j.cancel_reason, j.kill_grace_seconds;

-- name: absent_attempts
-- $1 this daemon, $2 whether it leads. The current attempts that no live worker stream holds,
-- with how long (by the database's clock) none has: the worker's stream is another than the
-- attempt's (it came back without it), or ended, or its daemon stopped or let its lease run
-- out. Never before this daemon started: a daemon gives every worker a grace to come back.
-- Each daemon looks at the attempts of its own streams; the leader also at everyone else's.
-- The states are hodeid.domain.states.ACTIVE written out, not a parameter: only a literal lets
-- a generic plan use jobs_active_idx (tests/unit/test_state_sets.py keeps them equal).
SELECT j.id, j.attempt, j.worker_id, j.timeout_seconds, j.kill_grace_seconds, t.session_id,
       extract(epoch FROM now() - j.started_at)::float8 AS running_seconds,
       extract(epoch FROM now() - greatest(g.since, me.started_at))::float8 AS absent_seconds
FROM jobs j
JOIN attempts t ON t.job_id = j.id AND t.number = j.attempt
JOIN daemons me ON me.id = $1
LEFT JOIN workers w ON w.id = j.worker_id
LEFT JOIN daemons d ON d.id = w.daemon_id
CROSS JOIN LATERAL (SELECT CASE
    WHEN w.session_id IS DISTINCT FROM t.session_id THEN greatest(w.attached_at, t.assigned_at)
    WHEN w.detached_at IS NOT NULL THEN w.detached_at
    WHEN d.id IS NULL THEN t.assigned_at
    WHEN d.stopped_at IS NOT NULL THEN d.stopped_at
    WHEN d.expires_at < now() THEN d.expires_at
END AS since) g
WHERE j.state IN ('ASSIGNED', 'RUNNING') AND g.since IS NOT NULL
  AND ($2 OR t.daemon_id = $1 OR w.daemon_id = $1);

-- name: request_cancel
-- $1 id, $2 reason, $3 the states a held job is in (hodeid.domain.states.ACTIVE). Only a job a
-- worker holds. Announced at commit on hodei_cancels as 'job id:attempt': the daemon whose
-- stream holds the attempt, whichever it is, sends the cancel to the worker.
WITH held AS (
    UPDATE jobs SET cancel_reason = $2, updated_at = now()
    WHERE id = $1 AND state = ANY($3::job_state[])
    RETURNING *
), told AS (
    SELECT pg_notify('hodei_cancels', id::text || ':' || attempt) FROM held
)
SELECT held.* FROM held LEFT JOIN told ON true;

-- name: cancels_of_daemon
-- $1 this daemon, $2 the states a held job is in (hodeid.domain.states.ACTIVE). The attempts
-- its streams hold that a cancel was asked for (to send again those it may not have heard).
SELECT j.id, j.attempt, j.cancel_reason, j.kill_grace_seconds
FROM jobs j
JOIN attempts t ON t.job_id = j.id AND t.number = j.attempt
WHERE t.daemon_id = $1 AND j.cancel_reason IS NOT NULL AND j.state = ANY($2::job_state[]);

-- name: insert_log_lines
-- $1 job id, $2 seqs, $3 attempts, $4 streams (the LogStream numbers: 1 STDOUT, 2 STDERR,
-- 3 SYSTEM), $5 data, $6 timestamps in microseconds since the Unix epoch, as on the wire
-- (numbers cost the daemon nothing to pass). An interval is multiplied in float8: whole
-- seconds and the microseconds left over are multiplied apart, so that each product is exact
-- for every timestamp of the years 1 to 9999.
-- A replayed line (same seq) is stored once.
INSERT INTO log_lines (job_id, seq, attempt, stream, data, ts)
SELECT $1::uuid, l.seq, l.attempt, (enum_range(NULL::log_stream))[l.stream], l.data,
       timestamptz 'epoch' + (l.ts / 1000000) * interval '1 second'
                           + (l.ts % 1000000) * interval '1 microsecond'
FROM unnest($2::bigint[], $3::integer[], $4::smallint[], $5::bytea[], $6::bigint[])
    AS l (seq, attempt, stream, data, ts)
ON CONFLICT (job_id, seq) DO NOTHING;

-- name: announce_log_lines
-- $1 channel (hodei_logs), $2 'job id:greatest seq:writer' (see LogStore.append).
SELECT pg_notify($1, $2);

-- name: plan_read_log_lines
-- In read_log_lines's transaction, before it: the ordered index scan of (job_id, seq) that
-- stops after the page, whatever the statistics say. Right after a big job's lines are stored
-- they are stale (estimating ~1,300 rows where 500,000 match), and the first executions of the
-- prepared read on each connection (custom plans) chose a bitmap scan and a sort of every line
-- left: 0.2-0.6 s a page of 20,000 lines instead of ~80 ms. LOCAL: nothing outlives the
-- transaction (the query pool resets nothing on release).
SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off;

-- name: read_log_lines
-- $1 job id, $2 after seq, $3 most lines, $4 most bytes of data (but at least one line,
-- however long). The sizes are summed first: octet_length reads a stored line's length, not
-- its bytes, so no line past the byte limit is read. One row: the page in columns, each the
-- lines' values one after the other in seq order, big-endian as int8send/int4send write them
-- (seqs, attempts, lengths, ts_micros: 8, 4, 4 and 8 bytes a line; streams one byte a line,
-- its LogStream number), so that no row per line crosses the wire or is built in Python.
-- Timestamps in microseconds since the Unix epoch, as on the wire (extract gives numeric,
-- so exact).
WITH sizes AS (
    SELECT seq, sum(octet_length(data)) OVER (ORDER BY seq) AS upto
    FROM log_lines
    WHERE job_id = $1 AND seq > $2
    ORDER BY seq
    LIMIT $3
), page AS (
    SELECT seq, attempt, array_position(enum_range(NULL::log_stream), stream) AS stream, data,
           (extract(epoch FROM ts) * 1000000)::bigint AS ts_micros
    FROM log_lines
    WHERE job_id = $1 AND seq > $2
      AND seq <= (SELECT coalesce(max(seq) FILTER (WHERE upto <= $4), min(seq)) FROM sizes)
)
SELECT count(*)::integer AS count,
       coalesce(string_agg(int8send(seq), ''::bytea ORDER BY seq), '') AS seqs,
       coalesce(string_agg(int4send(attempt), ''::bytea ORDER BY seq), '') AS attempts,
       coalesce(string_agg(set_byte('\x00'::bytea, 0, stream), ''::bytea ORDER BY seq), '') AS streams,
       coalesce(string_agg(int4send(octet_length(data)), ''::bytea ORDER BY seq), '') AS lengths,
       coalesce(string_agg(data, ''::bytea ORDER BY seq), '') AS data,
       coalesce(string_agg(int8send(ts_micros), ''::bytea ORDER BY seq), '') AS ts_micros
FROM page;

-- name: job_state
-- $1 id
SELECT state FROM jobs WHERE id = $1;

-- name: upsert_worker
-- $1 id, $2 hostname, $3 labels (jsonb text), $4 slots, $5 cpu, $6 memory_mb, $7 version,
-- $8 the daemon, $9 the session of its new stream, $10 the worker's incarnation, $11 its count
-- of streams. No row when a newer Hello of the same incarnation is recorded already: this one
-- is stale (the worker gave it up and moved on), and must change nothing.
INSERT INTO workers (id, hostname, labels, slots, cpu, memory_mb, version, daemon_id, session_id,
                     attached_at, incarnation, stream)
VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, now(), $10, $11)
ON CONFLICT (id) DO UPDATE
SET hostname = excluded.hostname, labels = excluded.labels, slots = excluded.slots,
    cpu = excluded.cpu, memory_mb = excluded.memory_mb, version = excluded.version,
    last_seen_at = now(), sessions = workers.sessions + 1, daemon_id = excluded.daemon_id,
    session_id = excluded.session_id, attached_at = now(), detached_at = NULL,
    incarnation = excluded.incarnation, stream = excluded.stream
WHERE excluded.stream = 0 OR excluded.incarnation <> workers.incarnation
   OR excluded.stream > workers.stream
RETURNING sessions;

-- name: detach_workers
-- $1 this daemon, $2 the sessions of its live streams: every other stream this daemon is
-- recorded to hold has ended (a newer one, on any daemon, is left alone).
UPDATE workers SET detached_at = now(), last_seen_at = now()
WHERE daemon_id = $1 AND detached_at IS NULL AND session_id <> ALL($2::text[]);

-- name: register_daemon
-- $1 id, $2 address, $3 version, $4 lease seconds (again, after a lapse, for a known id).
-- Also: the version of every other daemon whose lease runs, for the check that they agree.
WITH me AS (
    INSERT INTO daemons (id, address, version, expires_at)
    VALUES ($1, $2, $3, now() + make_interval(secs => $4))
    ON CONFLICT (id) DO UPDATE
    SET stopped_at = NULL, renewed_at = now(), expires_at = excluded.expires_at
    RETURNING id
)
SELECT id, address, version FROM daemons
WHERE id <> $1 AND stopped_at IS NULL AND expires_at > now();

-- name: renew_lease
-- $1 id, $2 lease seconds. Whether the lease had run out before this renewal (None: no such
-- daemon, or it stopped).
UPDATE daemons d SET renewed_at = now(), expires_at = now() + make_interval(secs => $2)
FROM (SELECT expires_at FROM daemons WHERE id = $1 FOR UPDATE) AS before
WHERE d.id = $1 AND d.stopped_at IS NULL
RETURNING before.expires_at < now() AS lapsed;

-- name: stop_daemon
-- $1 id. Its lease ends now, and with it every stream it held.
WITH d AS (
    UPDATE daemons SET stopped_at = now(), expires_at = now(), leading_since = NULL WHERE id = $1
    RETURNING id
)
UPDATE workers SET detached_at = now(), last_seen_at = now()
WHERE daemon_id = (SELECT id FROM d) AND detached_at IS NULL;

-- name: record_lead
-- $1 this daemon, $2 whether it holds the leader's lock. The leader marks itself (since when it
-- first did) and clears any other mark, left by a leader that died; a daemon that does not
-- lead clears its own.
UPDATE daemons SET leading_since = CASE WHEN id = $1 AND $2 THEN coalesce(leading_since, now()) END
WHERE (id = $1 AND $2) OR (leading_since IS NOT NULL AND (id = $1 OR $2));

-- name: list_daemons
-- Every daemon still running and those that stopped or lapsed within $1 seconds, with the
-- workers streaming to each.
SELECT d.id, d.address, d.version, d.started_at, d.renewed_at, d.stopped_at,
       extract(epoch FROM now() - d.renewed_at)::float8 AS lease_age,
       d.stopped_at IS NULL AND d.expires_at > now() AS live,
       d.leading_since IS NOT NULL AND d.stopped_at IS NULL AND d.expires_at > now() AS leading,
       coalesce(array_agg(w.id ORDER BY w.id) FILTER (WHERE w.id IS NOT NULL), '{}') AS workers
FROM daemons d
LEFT JOIN workers w ON w.daemon_id = d.id AND w.detached_at IS NULL
WHERE d.expires_at > now() - make_interval(secs => $1)
GROUP BY d.id
ORDER BY d.started_at, d.id;

-- name: others_live
-- $1 this daemon. Whether another daemon's lease holds.
SELECT EXISTS (SELECT 1 FROM daemons WHERE id <> $1 AND stopped_at IS NULL AND expires_at > now());

-- name: workers_elsewhere
-- $1 this daemon. The workers streaming to another daemon whose lease holds.
SELECT w.id FROM workers w JOIN daemons d ON d.id = w.daemon_id
WHERE w.detached_at IS NULL AND w.daemon_id <> $1 AND d.stopped_at IS NULL AND d.expires_at > now();

-- name: other_daemons_workers
-- $1 this daemon, $2 whether to include those of daemons whose lease ran out. The workers
-- whose stream another daemon holds, by the record: their daemon, whether its lease holds,
-- and what their jobs there take (ASSIGNED or RUNNING).
-- The states are hodeid.domain.states.ACTIVE written out, not a parameter: only a literal lets
-- a generic plan use jobs_active_idx (tests/unit/test_state_sets.py keeps them equal).
SELECT w.id, w.hostname, w.labels, w.slots, w.cpu, w.memory_mb, w.version, w.attached_at,
       w.last_seen_at, w.sessions, w.daemon_id,
       d.stopped_at IS NULL AND d.expires_at > now() AS live,
       coalesce(j.jobs, 0) AS jobs, coalesce(j.cpu, 0)::float8 AS cpu_used,
       coalesce(j.memory_mb, 0)::bigint AS memory_used
FROM workers w
JOIN daemons d ON d.id = w.daemon_id
LEFT JOIN LATERAL (
    SELECT count(*) AS jobs, sum(cpu) AS cpu, sum(memory_mb) AS memory_mb
    FROM jobs WHERE worker_id = w.id AND state IN ('ASSIGNED', 'RUNNING')
) j ON true
WHERE w.detached_at IS NULL AND w.daemon_id <> $1
  AND ($2 OR (d.stopped_at IS NULL AND d.expires_at > now()))
ORDER BY w.id;

-- name: prune_daemons
-- $1 seconds. Forget daemons whose lease ended longer ago than that.
DELETE FROM daemons WHERE expires_at < now() - make_interval(secs => $1);

-- name: insert_decisions
-- $1 job ids, $2 decided_at, $3 outcomes, $4 worker ids, $5 strategies, $6 durations,
-- $7 verdicts (jsonb text each), $8 the daemons that made them. Ids follow the input order,
-- which is the decisions' order.
INSERT INTO decisions (job_id, decided_at, outcome, worker_id, strategy, duration_ms, verdicts,
                       daemon_id)
SELECT a.job_id, a.decided_at, a.outcome, a.worker_id, a.strategy, a.duration_ms, a.verdicts::jsonb,
       a.daemon_id
FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
            $6::double precision[], $7::text[], $8::text[]) WITH ORDINALITY
     AS a (job_id, decided_at, outcome, worker_id, strategy, duration_ms, verdicts, daemon_id, n)
WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.id = a.job_id)
ORDER BY a.n;

-- name: job_decisions
-- $1 job id, $2 limit. Newest first.
SELECT decided_at, outcome, worker_id, strategy, duration_ms, verdicts, daemon_id
FROM decisions WHERE job_id = $1 ORDER BY id DESC LIMIT $2;

-- name: prune_decisions
-- $1 how many to keep per job. Only jobs that have more are touched.
DELETE FROM decisions d
USING (SELECT id, row_number() OVER (PARTITION BY job_id ORDER BY id DESC) AS n
       FROM decisions
       WHERE job_id IN (SELECT job_id FROM decisions GROUP BY job_id HAVING count(*) > $1)) r
WHERE d.id = r.id AND r.n > $1;

-- name: insert_api_token
-- $1 id, $2 name, $3 role, $4 secret_sha256
INSERT INTO api_tokens (id, name, role, secret_sha256) VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: register_api_token
-- $1 id, $2 name, $3 role, $4 secret_sha256; a token already known (even revoked) stays as it is
INSERT INTO api_tokens (id, name, role, secret_sha256) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: get_api_token
-- $1 id
SELECT * FROM api_tokens WHERE id = $1;

-- name: revoke_api_token
-- $1 id or name of a token not yet revoked
UPDATE api_tokens SET revoked_at = now()
WHERE (id = $1 OR name = $1) AND revoked_at IS NULL
RETURNING *;

-- name: list_api_tokens
SELECT * FROM api_tokens ORDER BY created_at, id;

-- name: insert_worker_credential
-- $1 worker id, $2 secret_sha256; no row back when the id already has a credential
INSERT INTO worker_credentials (worker_id, secret_sha256) VALUES ($1, $2)
ON CONFLICT DO NOTHING
RETURNING worker_id;

-- name: get_worker_credential
-- $1 worker id
SELECT secret_sha256 FROM worker_credentials WHERE worker_id = $1;

-- name: delete_worker_credential
-- $1 worker id
DELETE FROM worker_credentials WHERE worker_id = $1
RETURNING worker_id;

-- name: try_lead
-- The cluster leader's lock, held by one daemon's connection while it lives.
SELECT pg_try_advisory_lock(7041989);

-- name: stop_leading
SELECT pg_advisory_unlock(7041989);

-- name: insert_join_token
-- $1 token_sha256, $2 worker id, $3 seconds until it expires (by the database's clock), $4 the
-- provider that creates the worker. Also
-- forgets the tokens that expired an hour ago and were revoked or never used; a used one
-- guards its worker's id from the cluster token while the worker exists.
WITH forgotten AS (
    DELETE FROM join_tokens
    WHERE expires_at < now() - interval '1 hour' AND (revoked_at IS NOT NULL OR used_at IS NULL)
)
INSERT INTO join_tokens (token_sha256, worker_id, expires_at, provider)
VALUES ($1, $2, now() + make_interval(secs => $3), $4);

-- name: consume_join_token
-- $1 token_sha256, $2 worker id, $3 resume_sha256; no row back unless the token was issued to
-- this worker and is unused, unrevoked and unexpired: of two Hellos presenting it, one wins
UPDATE join_tokens SET used_at = now(), resume_sha256 = $3
WHERE token_sha256 = $1 AND worker_id = $2 AND used_at IS NULL AND revoked_at IS NULL
  AND expires_at > now()
RETURNING worker_id;

-- name: get_join_token
-- $1 token_sha256; why a token was refused
SELECT worker_id, used_at IS NOT NULL AS used, revoked_at IS NOT NULL AS revoked,
       expires_at <= now() AS expired, extract(epoch FROM expires_at - issued_at)::float8 AS ttl_seconds
FROM join_tokens WHERE token_sha256 = $1;

-- name: resumed_worker
-- $1 resume_sha256; the worker id it admits, none once revoked
SELECT worker_id FROM join_tokens WHERE resume_sha256 = $1 AND revoked_at IS NULL;

-- name: revoke_join_token
-- $1 token_sha256; revokes its resume token with it
UPDATE join_tokens SET revoked_at = now() WHERE token_sha256 = $1 AND revoked_at IS NULL
RETURNING worker_id;

-- name: join_token_consumed
-- $1 token_sha256; NULL if unknown
SELECT used_at IS NOT NULL OR revoked_at IS NOT NULL FROM join_tokens WHERE token_sha256 = $1;

-- name: provisioned_members
-- $1 provider names. The workers those providers created and nobody destroyed (their token is
-- not revoked), oldest first: a daemon taking the lead takes them over.
SELECT worker_id, token_sha256, provider, used_at IS NOT NULL AS joined
FROM join_tokens WHERE provider = ANY($1::text[]) AND revoked_at IS NULL
ORDER BY issued_at, worker_id;

-- name: worker_id_provisioned
-- $1 worker id; whether a provider's token, not revoked, is bound to it
SELECT EXISTS (SELECT 1 FROM join_tokens WHERE worker_id = $1 AND revoked_at IS NULL);

-- name: database_now
SELECT now();

-- name: insert_schedule
-- $1 id, $2 name, $3 cron, $4 timezone, $5 every_seconds, $6 overlap, $7 catch_up,
-- $8 job_spec, $9 placement_class, $10 created_at, $11 next_run
-- No row if the name is taken.
INSERT INTO schedules (id, name, cron, timezone, every_seconds, overlap, catch_up, job_spec,
                       placement_class, created_at, next_run)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (name) DO NOTHING
RETURNING *, NULL::job_state AS last_state;

-- name: get_schedule
-- $1 name. With the state of its latest run's job.
SELECT s.*, j.state AS last_state
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
WHERE s.name = $1;

-- name: lock_schedule
-- $1 name
SELECT * FROM schedules WHERE name = $1 FOR UPDATE;

-- name: list_schedules
SELECT s.*, j.state AS last_state
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
ORDER BY s.name;

-- name: set_schedule_paused
-- $1 name, $2 paused, $3 next_run (or NULL to keep it)
UPDATE schedules SET paused = $2, next_run = coalesce($3, next_run)
WHERE name = $1
RETURNING id;

-- name: delete_schedule
-- $1 name
DELETE FROM schedules WHERE name = $1 RETURNING id;

-- name: lock_due_schedules
-- $1 limit. The schedules whose next run is due by the database's clock, with the state of
-- their latest run's job; rows another transaction holds are skipped: it is firing them.
SELECT s.*, j.state AS last_state
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
WHERE NOT s.paused AND s.next_run <= now()
ORDER BY s.next_run
LIMIT $1
FOR UPDATE OF s SKIP LOCKED;

-- name: insert_scheduled_job
-- $1 id, $2 name (the schedule's), $3 command, $4 env (jsonb), $5 cwd, $6 selector, $7 cpu,
-- $8 memory_mb, $9 priority, $10 timeout_seconds, $11 max_retries, $12 retry_backoff_seconds,
-- $13 kill_grace_seconds, $14 idempotency_key (or NULL), $15 placement_class, $16 planned_at
-- No row if the key is taken: that planned run was fired already.
INSERT INTO jobs (id, name, command, env, cwd, selector, cpu, memory_mb, priority,
                  timeout_seconds, max_retries, retry_backoff_seconds, kill_grace_seconds,
                  idempotency_key, placement_class, schedule, planned_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $2, $16)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING *;

-- name: advance_schedules
-- $1 ids, $2 next runs, $3 jobs fired (NULL where none was), $4 their planned times
UPDATE schedules s
SET next_run = u.next_run,
    last_job_id = coalesce(u.job_id, s.last_job_id),
    last_planned = CASE WHEN u.job_id IS NULL THEN s.last_planned ELSE u.planned END
FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::timestamptz[])
    AS u(id, next_run, job_id, planned)
WHERE s.id = u.id;

-- name: record_schedule_run
-- $1 id, $2 job id, $3 planned time
UPDATE schedules SET last_job_id = $2, last_planned = $3 WHERE id = $1;

-- name: next_due_in
-- Seconds until the earliest next run of a schedule not paused (NULL if none).
SELECT extract(epoch FROM min(next_run) - now())::float8 FROM schedules WHERE NOT paused;
