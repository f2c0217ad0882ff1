-- 0003: how many of the experiment's results the strategy had observed when
-- it proposed each candidate. With it, a restarted controller replays
-- proposals and observations interleaved exactly as they happened, so a
-- strategy whose proposals depend on results (evolution) continues with the
-- same sequence of proposals as an uninterrupted run (fixed seed, results in
-- the same order). Candidates stored before this migration get 0: they are
-- replayed as if proposed before any result, as the controller did then.
ALTER TABLE candidates
  ADD COLUMN observed_results integer NOT NULL DEFAULT 0
  CHECK (observed_results >= 0);
