-- Lookups of a candidate's results by candidate id (a candidate's final
-- re-training metrics in every candidate listing, exported models' metrics)
-- must not scan the whole results table.
CREATE INDEX results_candidate_idx ON results (candidate_id, id);
