-- Issue 22: listings read counters, not trials; dead workers' rows go.
--
-- simulated_seconds: the summed EvaluationMetrics.simulated_seconds of the
-- experiment's search trials (final_of IS NULL AND NOT supernet) that are
-- SUCCEEDED, kept with the other counters of 0012 so that GetExperiment and
-- ListExperiments no longer read every trial (ListTrialCosts) to show it.
-- A trial that leaves SUCCEEDED (cancelled past a simulated budget) takes
-- its seconds back out. The candidate's simulated_seconds is written by the
-- same statement that makes its trial SUCCEEDED (store_results), and the
-- statement-level trigger runs after that statement, so it sees the value.
ALTER TABLE experiment_counters
  ADD COLUMN simulated_seconds double precision NOT NULL DEFAULT 0;
ALTER TABLE experiment_counter_deltas
  ADD COLUMN simulated_seconds double precision NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION nas_trials_status_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO experiment_counter_deltas
    (experiment_id, succeeded, failed, simulated_seconds)
  SELECT d.experiment_id, sum(d.succeeded), sum(d.failed),
    sum(d.simulated_seconds)
  FROM (
    SELECT n.experiment_id, (n.status = 'SUCCEEDED')::int AS succeeded,
      (n.status = 'FAILED')::int AS failed,
      CASE WHEN n.status = 'SUCCEEDED' THEN
        coalesce((SELECT c.simulated_seconds FROM candidates c
                  WHERE c.id = n.candidate_id), 0)
      ELSE 0 END AS simulated_seconds
    FROM new_rows n WHERE n.status IN ('SUCCEEDED', 'FAILED')
      AND coalesce((SELECT c.final_of IS NULL AND NOT c.supernet
                    FROM candidates c WHERE c.id = n.candidate_id), false)
    UNION ALL
    SELECT o.experiment_id, -(o.status = 'SUCCEEDED')::int,
      -(o.status = 'FAILED')::int,
      CASE WHEN o.status = 'SUCCEEDED' THEN
        -coalesce((SELECT c.simulated_seconds FROM candidates c
                   WHERE c.id = o.candidate_id), 0)
      ELSE 0 END
    FROM old_rows o WHERE o.status IN ('SUCCEEDED', 'FAILED')
      AND coalesce((SELECT c.final_of IS NULL AND NOT c.supernet
                    FROM candidates c WHERE c.id = o.candidate_id), false)) d
  GROUP BY d.experiment_id
  HAVING sum(d.succeeded) <> 0 OR sum(d.failed) <> 0
    OR sum(d.simulated_seconds) <> 0;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION nas_trials_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO experiment_counter_deltas
    (experiment_id, succeeded, failed, simulated_seconds)
  SELECT n.experiment_id,
    count(*) FILTER (WHERE n.status = 'SUCCEEDED'),
    count(*) FILTER (WHERE n.status = 'FAILED'),
    coalesce(sum(c.simulated_seconds) FILTER (WHERE n.status = 'SUCCEEDED'),
             0)
  FROM new_rows n JOIN candidates c ON c.id = n.candidate_id
  WHERE n.status IN ('SUCCEEDED', 'FAILED')
    AND c.final_of IS NULL AND NOT c.supernet
  GROUP BY n.experiment_id;
  RETURN NULL;
END $$;

-- Existing experiments: summed once, now (their pending deltas carry no
-- seconds, so the counters row takes the whole sum).
INSERT INTO experiment_counters (experiment_id) SELECT e.id FROM experiments e
  ON CONFLICT (experiment_id) DO NOTHING;
UPDATE experiment_counters k SET simulated_seconds = s.seconds
FROM (SELECT t.experiment_id, sum(coalesce(c.simulated_seconds, 0)) AS seconds
      FROM trials t JOIN candidates c ON c.id = t.candidate_id
      WHERE t.status = 'SUCCEEDED' AND c.final_of IS NULL AND NOT c.supernet
      GROUP BY t.experiment_id) s
WHERE k.experiment_id = s.experiment_id;

-- count_experiment's screening counts (0019) read only the experiment's
-- screening rows instead of every candidate of the experiment.
CREATE INDEX candidates_screening_idx ON candidates (experiment_id)
  WHERE screening;

-- Pruning dead workers' rows (prune_workers) by when they were last seen.
CREATE INDEX workers_last_seen_idx ON workers (last_seen_at);
