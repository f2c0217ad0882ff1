-- 0002_trial_attempts: the history of every trial attempt.
--
-- A `trials` row describes only the current (or last) attempt; this table
-- keeps one row per lease ever granted. controller/store.cc writes it in the
-- same statements that change `trials` (LeaseTrial inserts the row,
-- RenewLease/RecordProgress move lease_until, RecordResult, RecordFailure and
-- ExpireLeases end it), always under the trial's row lock. Every query on it
-- is served by the primary key.

-- One lease of a trial to a worker. `attempt` is trials.attempt as of the
-- lease (1 for the first). lease_until is the last deadline granted (kept
-- after the attempt ends); ended_at is NULL while RUNNING. `error` is the
-- worker's error for FAILED, "lease expired" for EXPIRED, '' otherwise.
CREATE TABLE trial_attempts (
  trial_id    bigint      NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
  attempt     integer     NOT NULL,
  worker_id   text        NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  lease_until timestamptz,
  ended_at    timestamptz,
  outcome     text        NOT NULL DEFAULT 'RUNNING'
              CHECK (outcome IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'EXPIRED',
                                 'CANCELLED')),
  error       text        NOT NULL DEFAULT '',
  PRIMARY KEY (trial_id, attempt)
);

-- Backfill: an upgraded database gets one row for the current attempt of
-- every trial leased before this migration (earlier attempts were never
-- recorded). The outcome follows the trial's status; a QUEUED trial with
-- attempt > 0 lost its last lease (EXPIRED). Unknown values: worker_id ''
-- (requeued trials no longer name their worker), ended_at = now() for ended
-- attempts without finished_at. A RUNNING trial's error column may still hold
-- the previous attempt's error, so it is not copied for RUNNING attempts.
-- Writers of `trials` wait until this transaction commits, so no trial
-- changes between the backfill and the commit.
LOCK TABLE trials IN SHARE MODE;
INSERT INTO trial_attempts (trial_id, attempt, worker_id, started_at,
                            lease_until, ended_at, outcome, error)
SELECT id, attempt, coalesce(worker_id, ''), coalesce(started_at, created_at),
       lease_until,
       CASE WHEN status = 'RUNNING' THEN NULL
            ELSE coalesce(finished_at, now()) END,
       CASE WHEN status = 'QUEUED' THEN 'EXPIRED' ELSE status END,
       CASE WHEN status IN ('RUNNING', 'SUCCEEDED') THEN '' ELSE error END
FROM trials
WHERE attempt > 0;
