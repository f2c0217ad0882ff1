-- Strategy darts (issue 20): differentiable searches on the fleet.
-- Each search is a candidate row of its own (search_seed set, genotype
-- "darts-search-<seed>", with its own trial so that leasing, renewal, lease
-- expiry and retries work unchanged). It is also marked supernet = true:
-- like the supernet-training row it trains a weight-sharing network and is
-- never a search result, so every filter of 0010 (counters, budgets,
-- duplicates, best, fronts) already leaves it out. The unique index of the
-- SUPERNET mode's single supernet row now covers only that row.
ALTER TABLE candidates
  ADD COLUMN search_seed bigint,
  -- The search's latest derived cell (genotype canonical and choices) and
  -- the share of its edges without parameters (none, skip, pool).
  ADD COLUMN derived_canonical text,
  ADD COLUMN derived_choices integer[],
  ADD COLUMN param_free_share double precision,
  -- The search's latest checkpoint (an artifact of kind 'checkpoint',
  -- deleted when replaced and when the search ends) and the epoch after
  -- which it was written; a new attempt resumes from it.
  ADD COLUMN checkpoint_hash text,
  ADD COLUMN checkpoint_epoch integer,
  -- For a candidate derived by a search: that search's row.
  ADD COLUMN search_of bigint REFERENCES candidates (id);
DROP INDEX candidates_supernet_idx;
CREATE UNIQUE INDEX candidates_supernet_idx ON candidates (experiment_id)
  WHERE supernet AND search_seed IS NULL;
CREATE INDEX candidates_search_idx ON candidates (experiment_id)
  WHERE search_seed IS NOT NULL;
CREATE INDEX candidates_search_of_idx ON candidates (search_of)
  WHERE search_of IS NOT NULL;

-- What each search reported after each epoch: softmax(alpha) of every edge
-- (edge-major), the derived cell, and the weight-sharing network's scores.
-- Rewritten (not duplicated) when a resumed attempt reports an epoch again.
CREATE TABLE search_epochs (
  candidate_id     bigint  NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
  epoch            integer NOT NULL,
  arch_weights     double precision[] NOT NULL,
  derived_canonical text   NOT NULL,
  derived_choices  integer[] NOT NULL,
  param_free_share double precision NOT NULL,
  val_accuracy     double precision NOT NULL,
  train_loss       double precision NOT NULL,
  recorded_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (candidate_id, epoch)
);
