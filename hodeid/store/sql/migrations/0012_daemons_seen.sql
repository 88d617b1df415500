-- Seeing several daemons: the daemon that leads the cluster duties records it (its lock is a
-- PostgreSQL advisory lock, which other daemons cannot name), and each placement decision
-- records the daemon that made it.
ALTER TABLE daemons ADD COLUMN leading_since timestamptz;
ALTER TABLE decisions ADD COLUMN daemon_id text;
