-- Proxy-guided evolution (issue 21). Each slot of the evolution is K
-- children stored as screening candidates (screening = true), each scored
-- by a ZERO_COST trial of its own. They are also marked supernet = true,
-- like the search rows of 0018, so every filter of 0010 (counters, budgets,
-- duplicates, best, fronts, the strategy's results) leaves them out. The
-- slot's number, screen_group, is 1 + the seq of its first child; the child
-- with the best proxy score is then stored as an ordinary candidate
-- (screening = false) naming the same screen_group, and is trained.
ALTER TABLE candidates
  ADD COLUMN screening boolean NOT NULL DEFAULT false,
  ADD COLUMN screen_group integer;
DROP INDEX candidates_supernet_idx;
CREATE UNIQUE INDEX candidates_supernet_idx ON candidates (experiment_id)
  WHERE supernet AND search_seed IS NULL AND NOT screening;
CREATE INDEX candidates_screen_group_idx ON candidates (experiment_id,
  screen_group) WHERE screen_group IS NOT NULL;
