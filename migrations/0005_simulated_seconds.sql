-- 0005: simulated cost of an evaluation (EvaluationMetrics.simulated_seconds,
-- reported by TABULAR-mode lookups), kept as a column next to the other
-- metrics so that the controller can walk an experiment's costs in seq order
-- for budget.max_simulated_seconds without parsing metric protos, and so
-- that listings show it. NULL until EVALUATED, like the other metrics.
ALTER TABLE candidates ADD COLUMN simulated_seconds double precision;
ALTER TABLE results ADD COLUMN simulated_seconds double precision NOT NULL
  DEFAULT 0;
