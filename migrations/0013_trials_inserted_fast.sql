-- Trials are inserted QUEUED by every proposal batch; only imports and
-- benchmark preloads insert them finished. The counting trigger of 0012
-- joined every inserted row with candidates before filtering on status,
-- which cost 12-20 ms per proposal batch (a hash join over candidates when
-- the planner knows nothing of the transition table; pg auto_explain,
-- issue 9). Return at once when no inserted trial is finished.
CREATE OR REPLACE FUNCTION nas_trials_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM new_rows n
                 WHERE n.status IN ('SUCCEEDED', 'FAILED')) THEN
    RETURN NULL;
  END IF;
  INSERT INTO experiment_counter_deltas (experiment_id, succeeded, failed)
  SELECT n.experiment_id,
    count(*) FILTER (WHERE n.status = 'SUCCEEDED'),
    count(*) FILTER (WHERE n.status = 'FAILED')
  FROM new_rows n JOIN candidates c ON c.id = n.candidate_id
  WHERE n.status IN ('SUCCEEDED', 'FAILED')
    AND c.final_of IS NULL AND NOT c.supernet
  GROUP BY n.experiment_id;
  RETURN NULL;
END $$;
