-- Evaluation mode SUPERNET (issue 5).
-- The experiment's supernet is trained by a candidate row of its own
-- (supernet = true, genotype "supernet", with its own trial so that leasing,
-- retries and lease expiry work unchanged). Like final re-trainings it is
-- not a search candidate: strategies, budgets, duplicates, `best` and Pareto
-- fronts only consider rows with final_of IS NULL AND NOT supernet.
ALTER TABLE candidates ADD COLUMN supernet boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX candidates_supernet_idx ON candidates (experiment_id)
  WHERE supernet;

-- Large artifacts (a supernet's weights) are content-addressed (hash =
-- sha256 of the bytes, hex) and stored in chunks, so that each piece stays
-- small and workers can stream them; `chunks` = 0 means the bytes are inline
-- in artifacts.data (the per-candidate TorchScript models).
ALTER TABLE artifacts ADD COLUMN chunks integer NOT NULL DEFAULT 0;
CREATE TABLE artifact_chunks (
  hash  text    NOT NULL REFERENCES artifacts (hash) ON DELETE CASCADE,
  seq   integer NOT NULL,  -- from 0, in byte order
  data  bytea   NOT NULL,
  PRIMARY KEY (hash, seq)
);
-- The trained supernet of a supernet row.
ALTER TABLE candidates ADD COLUMN artifact_hash text REFERENCES artifacts (hash);
