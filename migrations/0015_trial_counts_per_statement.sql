-- The succeeded/failed counters of 0012 were kept by a row trigger: every
-- stored result ran a PL/pgSQL call that looked up its candidate and
-- inserted one delta row (about 60 us per result under load, auto_explain,
-- issue 9). Now one statement-level trigger per UPDATE of trials inserts
-- one delta row per experiment for the whole statement (a result batch of
-- hundreds of rows writes one).
--
-- PostgreSQL allows transition tables only on UPDATE triggers without a
-- column list, so it fires for every UPDATE of trials; statements that
-- change no finished status (leases, renewals) find nothing to count.
-- Transition tables have no statistics: the query is written so that no
-- plan can scan candidates.
DROP TRIGGER trials_counted_update ON trials;
DROP FUNCTION nas_trial_status_changed();

-- Counts are new rows minus old rows (an unchanged status adds +1 - 1),
-- so old and new rows need no join. The search-candidate test is a scalar
-- subquery, which the planner keeps as one primary-key probe per row.
CREATE FUNCTION nas_trials_status_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO experiment_counter_deltas (experiment_id, succeeded, failed)
  SELECT d.experiment_id, sum(d.succeeded), sum(d.failed)
  FROM (
    SELECT n.experiment_id, (n.status = 'SUCCEEDED')::int AS succeeded,
      (n.status = 'FAILED')::int AS failed
    FROM new_rows n WHERE n.status IN ('SUCCEEDED', 'FAILED')
      AND coalesce((SELECT c.final_of IS NULL AND NOT c.supernet
                    FROM candidates c WHERE c.id = n.candidate_id), false)
    UNION ALL
    SELECT o.experiment_id, -(o.status = 'SUCCEEDED')::int,
      -(o.status = 'FAILED')::int
    FROM old_rows o WHERE o.status IN ('SUCCEEDED', 'FAILED')
      AND coalesce((SELECT c.final_of IS NULL AND NOT c.supernet
                    FROM candidates c WHERE c.id = o.candidate_id), false)) d
  GROUP BY d.experiment_id
  HAVING sum(d.succeeded) <> 0 OR sum(d.failed) <> 0;
  RETURN NULL;
END $$;
CREATE TRIGGER trials_counted_update AFTER UPDATE ON trials
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nas_trials_status_changed();
