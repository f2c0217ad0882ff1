-- Final re-training (ExperimentSpec.final) and kept models.
-- A final re-training is a candidate row of its own (with its own trial, so
-- leasing, retries and results work unchanged) that points at the search
-- candidate it re-trains. Strategies, budgets, duplicates, `best` and Pareto
-- fronts only consider rows with final_of IS NULL.
ALTER TABLE candidates ADD COLUMN final_of bigint REFERENCES candidates (id);
CREATE INDEX candidates_final_of_idx ON candidates (final_of)
  WHERE final_of IS NOT NULL;
-- Kept TorchScript models live in `artifacts` (kind 'torchscript', one per
-- candidate); this index serves "the model of candidate X".
CREATE INDEX artifacts_candidate_idx ON artifacts (candidate_id, kind);
