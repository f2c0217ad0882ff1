-- The per-worker lease limit (--max_leases_per_worker) counts a worker's
-- RUNNING trials on every lease: keep that an index lookup.
CREATE INDEX trials_worker_running_idx ON trials (worker_id)
  WHERE status = 'RUNNING';
