-- Class-balanced metrics of a candidate's result (issue 17): balanced
-- accuracy, macro-F1 and per-class recall on the validation split, and the
-- first two on the test set. Written with the other metric columns when a
-- result is stored; NULL for results stored before (read back as 0 and no
-- recall; results.metrics_proto keeps every metric of every result, so the
-- results table gets no copy). No index: only val_accuracy orders listings
-- on a hot path; the others order one experiment's candidates, found by
-- its own index.
ALTER TABLE candidates
  ADD COLUMN val_balanced_accuracy  double precision,
  ADD COLUMN val_macro_f1           double precision,
  ADD COLUMN val_class_recall       double precision[],
  ADD COLUMN test_balanced_accuracy double precision,
  ADD COLUMN test_macro_f1          double precision;
