-- A cancel asked for a job its worker holds: sent again when the worker reconnects, and the
-- job is not retried or requeued after it (a lost attempt then ends the job CANCELLED).
ALTER TABLE jobs ADD COLUMN cancel_reason text;
