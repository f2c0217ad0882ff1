-- 0004: early-stopping decisions, visible per trial and per candidate.
-- trial_progress.decision: what the controller answered to that epoch's
-- report when it stopped the trial ('' = continue). candidates.early_stopped:
-- the same reason on the candidate, so listings show which candidates ran
-- fewer epochs and why.
ALTER TABLE trial_progress ADD COLUMN decision text NOT NULL DEFAULT '';
ALTER TABLE candidates ADD COLUMN early_stopped text NOT NULL DEFAULT '';
