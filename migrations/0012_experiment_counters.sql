-- Per-experiment counts kept up to date by triggers (issue 9), so that the
-- controller's per-tick CountExperiment reads one row, a few pending deltas
-- and the experiment's active trials (an index range) instead of scanning
-- every candidate and trial: flat as an experiment grows to millions of
-- candidates.
--
-- Counted, for the search candidates (final_of IS NULL AND NOT supernet)
-- unless noted:
--   candidates  search candidate rows
--   rejected    candidate rows in state REJECTED (any kind)
--   duplicates  candidate rows in state DUPLICATE (any kind)
--   final       final re-training rows (final_of IS NOT NULL)
--   final_done  final re-training rows EVALUATED, FAILED or CANCELLED
--   succeeded   search trials SUCCEEDED
--   failed      search trials FAILED
-- Queued and running trials are few (at most parallel_trials) and are
-- counted live through trials_experiment_status_idx.
--
-- Writers never update a shared counter row (that would serialize every
-- result of an experiment on one row lock): triggers append signed deltas
-- to experiment_counter_deltas; the store's CountExperiment folds them into
-- experiment_counters (DELETE ... RETURNING, then one upsert), so each
-- delta is counted exactly once even when two readers fold at once.
-- Row triggers on UPDATE carry WHEN conditions, so the common updates that
-- change no count (leasing: QUEUED -> RUNNING) cost no trigger call at all.
CREATE TABLE experiment_counters (
  experiment_id bigint PRIMARY KEY REFERENCES experiments (id) ON DELETE CASCADE,
  candidates    bigint NOT NULL DEFAULT 0,
  rejected      bigint NOT NULL DEFAULT 0,
  duplicates    bigint NOT NULL DEFAULT 0,
  final         bigint NOT NULL DEFAULT 0,
  final_done    bigint NOT NULL DEFAULT 0,
  succeeded     bigint NOT NULL DEFAULT 0,
  failed        bigint NOT NULL DEFAULT 0
);

CREATE TABLE experiment_counter_deltas (
  experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  candidates    bigint NOT NULL DEFAULT 0,
  rejected      bigint NOT NULL DEFAULT 0,
  duplicates    bigint NOT NULL DEFAULT 0,
  final         bigint NOT NULL DEFAULT 0,
  final_done    bigint NOT NULL DEFAULT 0,
  succeeded     bigint NOT NULL DEFAULT 0,
  failed        bigint NOT NULL DEFAULT 0
);
CREATE INDEX experiment_counter_deltas_idx
  ON experiment_counter_deltas (experiment_id);

-- Candidates inserted: one delta per statement and experiment (batches).
CREATE FUNCTION nas_candidates_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO experiment_counter_deltas
    (experiment_id, candidates, rejected, duplicates, final, final_done)
  SELECT n.experiment_id,
    count(*) FILTER (WHERE n.final_of IS NULL AND NOT n.supernet),
    count(*) FILTER (WHERE n.state = 'REJECTED'),
    count(*) FILTER (WHERE n.state = 'DUPLICATE'),
    count(*) FILTER (WHERE n.final_of IS NOT NULL),
    count(*) FILTER (WHERE n.final_of IS NOT NULL
                       AND n.state IN ('EVALUATED', 'FAILED', 'CANCELLED'))
  FROM new_rows n GROUP BY n.experiment_id;
  RETURN NULL;
END $$;
CREATE TRIGGER candidates_counted_insert AFTER INSERT ON candidates
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nas_candidates_inserted();

-- A candidate's state changed in a way that moves a count.
CREATE FUNCTION nas_candidate_state_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  done_new int := (NEW.final_of IS NOT NULL AND
                   NEW.state IN ('EVALUATED', 'FAILED', 'CANCELLED'))::int;
  done_old int := (OLD.final_of IS NOT NULL AND
                   OLD.state IN ('EVALUATED', 'FAILED', 'CANCELLED'))::int;
BEGIN
  INSERT INTO experiment_counter_deltas
    (experiment_id, rejected, duplicates, final_done)
  VALUES (NEW.experiment_id,
    (NEW.state = 'REJECTED')::int - (OLD.state = 'REJECTED')::int,
    (NEW.state = 'DUPLICATE')::int - (OLD.state = 'DUPLICATE')::int,
    done_new - done_old);
  RETURN NULL;
END $$;
CREATE TRIGGER candidates_counted_update AFTER UPDATE OF state ON candidates
  FOR EACH ROW
  WHEN (OLD.state IS DISTINCT FROM NEW.state AND
        (NEW.final_of IS NOT NULL OR
         NEW.state IN ('REJECTED', 'DUPLICATE') OR
         OLD.state IN ('REJECTED', 'DUPLICATE')))
  EXECUTE FUNCTION nas_candidate_state_changed();

-- A trial entered or left SUCCEEDED / FAILED: counted when it is a search
-- trial (its candidate's final_of and supernet never change).
CREATE FUNCTION nas_trial_status_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM candidates c WHERE c.id = NEW.candidate_id
             AND c.final_of IS NULL AND NOT c.supernet) THEN
    INSERT INTO experiment_counter_deltas (experiment_id, succeeded, failed)
    VALUES (NEW.experiment_id,
      (NEW.status = 'SUCCEEDED')::int - (OLD.status = 'SUCCEEDED')::int,
      (NEW.status = 'FAILED')::int - (OLD.status = 'FAILED')::int);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER trials_counted_update AFTER UPDATE OF status ON trials
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND
        (NEW.status IN ('SUCCEEDED', 'FAILED') OR
         OLD.status IN ('SUCCEEDED', 'FAILED')))
  EXECUTE FUNCTION nas_trial_status_changed();

-- Trials inserted already finished (imports, benchmark preloads).
CREATE FUNCTION nas_trials_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
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
CREATE TRIGGER trials_counted_insert AFTER INSERT ON trials
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION nas_trials_inserted();

-- Rows are only deleted with their experiment (ON DELETE CASCADE), which
-- takes its counters along: no delete triggers.

-- Existing experiments: counted once, now.
INSERT INTO experiment_counters
SELECT e.id,
  (SELECT count(*) FROM candidates c WHERE c.experiment_id = e.id
     AND c.final_of IS NULL AND NOT c.supernet),
  (SELECT count(*) FROM candidates c WHERE c.experiment_id = e.id
     AND c.state = 'REJECTED'),
  (SELECT count(*) FROM candidates c WHERE c.experiment_id = e.id
     AND c.state = 'DUPLICATE'),
  (SELECT count(*) FROM candidates c WHERE c.experiment_id = e.id
     AND c.final_of IS NOT NULL),
  (SELECT count(*) FROM candidates c WHERE c.experiment_id = e.id
     AND c.final_of IS NOT NULL
     AND c.state IN ('EVALUATED', 'FAILED', 'CANCELLED')),
  (SELECT count(*) FROM trials t JOIN candidates c ON c.id = t.candidate_id
     WHERE t.experiment_id = e.id AND t.status = 'SUCCEEDED'
       AND c.final_of IS NULL AND NOT c.supernet),
  (SELECT count(*) FROM trials t JOIN candidates c ON c.id = t.candidate_id
     WHERE t.experiment_id = e.id AND t.status = 'FAILED'
       AND c.final_of IS NULL AND NOT c.supernet)
FROM experiments e;
