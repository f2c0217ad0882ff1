-- Throughput metrics of an evaluation (EvaluationMetrics fields 11 and 12),
-- copied to the candidate row with the other metrics so that listing shows
-- them. NULL for results stored before this migration (results.metrics_proto
-- stays the source of truth).
ALTER TABLE candidates
  ADD COLUMN throughput_images_per_second double precision,
  ADD COLUMN train_images_per_second double precision;
