-- 0001_init: the system of record of the NAS service.
--
-- Applied by Store::Migrate inside one transaction under an advisory lock;
-- the migrator itself creates and fills schema_migrations. Statuses are text
-- holding proto enum names without their prefix (CHECK constraints list
-- them). Times are timestamptz. Every query of controller/store.cc is served
-- by a primary key or one of the indexes below.

-- One search. The spec is kept twice: as jsonb for people and SQL, and as the
-- binary proto, which is what the controller reads back (the source of
-- truth). Fields the trial queue needs are copied out of the spec so that
-- leasing never parses it.
CREATE TABLE experiments (
  id              bigserial PRIMARY KEY,
  name            text        NOT NULL,
  spec            jsonb       NOT NULL,
  spec_proto      bytea       NOT NULL,
  seed            bigint      NOT NULL,
  state           text        NOT NULL DEFAULT 'RUNNING'
                  CHECK (state IN ('RUNNING', 'SUCCEEDED', 'STOPPED', 'FAILED')),
  error           text        NOT NULL DEFAULT '',
  -- Copied from the spec (defaults applied) into every new trial.
  required_labels jsonb       NOT NULL DEFAULT '{}'::jsonb,
  lease_seconds   integer     NOT NULL CHECK (lease_seconds > 0),
  max_attempts    integer     NOT NULL CHECK (max_attempts > 0),
  -- seq of the next candidate; bumped under the row lock by InsertCandidates.
  next_seq        integer     NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz
);
-- Controller start-up: resume the running experiments.
CREATE INDEX experiments_running_idx ON experiments (id) WHERE state = 'RUNNING';

-- Every proposal of a strategy, including rejected ones and duplicates,
-- written before anything else happens to it. Final metrics are copied here
-- from `results` so that listing and sorting is a single-table query.
CREATE TABLE candidates (
  id             bigserial PRIMARY KEY,
  experiment_id  bigint      NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  seq            integer     NOT NULL,  -- order of proposal, from 0
  space          text        NOT NULL,
  canonical      text        NOT NULL,
  choices        integer[]   NOT NULL,
  arch_hash      text        NOT NULL,
  state          text        NOT NULL
                 CHECK (state IN ('QUEUED', 'RUNNING', 'EVALUATED', 'FAILED',
                                  'REJECTED', 'DUPLICATE', 'CANCELLED')),
  parent_id      bigint      REFERENCES candidates (id),
  generation     integer     NOT NULL DEFAULT 0,
  strategy_data  jsonb       NOT NULL DEFAULT '{}'::jsonb,
  reason         text        NOT NULL DEFAULT '',   -- rejection/failure reason
  duplicate_of   bigint      REFERENCES candidates (id),
  macs           bigint      NOT NULL DEFAULT 0,    -- analytic, before training
  params         bigint      NOT NULL DEFAULT 0,
  attempts       integer     NOT NULL DEFAULT 0,    -- of the candidate's trial
  worker_id      text,                              -- that produced the metrics
  -- Final metrics (NULL until EVALUATED), copied from results.
  val_accuracy   double precision,
  test_accuracy  double precision,
  latency_ms     double precision,
  latency_iqr_ms double precision,
  train_seconds  double precision,
  train_loss     double precision,
  epochs         integer,
  device         text,
  metric_macs    bigint,  -- as measured by the worker
  metric_params  bigint,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  -- Listing by seq (the default order) and seq uniqueness.
  CONSTRAINT candidates_experiment_seq_key UNIQUE (experiment_id, seq)
);
-- Duplicate detection: FindCandidateByHash.
CREATE INDEX candidates_hash_idx ON candidates (experiment_id, arch_hash, seq);
-- Leaderboards: ListCandidates ordered by accuracy.
CREATE INDEX candidates_val_accuracy_idx
  ON candidates (experiment_id, val_accuracy DESC NULLS LAST, seq);

-- The unit of work handed to workers; one per QUEUED candidate. `attempt`
-- counts leases (0 while never leased); worker_id/lease_until describe the
-- current lease. required_labels/lease_seconds/max_attempts are copied from
-- the experiment at insert time.
CREATE TABLE trials (
  id              bigserial PRIMARY KEY,
  experiment_id   bigint      NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  candidate_id    bigint      NOT NULL UNIQUE REFERENCES candidates (id) ON DELETE CASCADE,
  status          text        NOT NULL DEFAULT 'QUEUED'
                  CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED',
                                    'CANCELLED')),
  attempt         integer     NOT NULL DEFAULT 0,
  max_attempts    integer     NOT NULL,
  lease_seconds   integer     NOT NULL,
  required_labels jsonb       NOT NULL DEFAULT '{}'::jsonb,
  worker_id       text,
  lease_until     timestamptz,
  error           text        NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,  -- of the current/last attempt
  finished_at     timestamptz
);
-- The queue: LeaseTrial scans queued trials oldest first (FOR UPDATE SKIP
-- LOCKED); the partial index stays as small as the queue.
CREATE INDEX trials_queued_idx ON trials (id) WHERE status = 'QUEUED';
-- ExpireLeases: running trials by lease deadline.
CREATE INDEX trials_running_lease_idx ON trials (lease_until) WHERE status = 'RUNNING';
-- Per-experiment counts and cancellation of queued trials.
CREATE INDEX trials_experiment_status_idx ON trials (experiment_id, status);

-- Learning curves: one row per epoch reported by an attempt.
CREATE TABLE trial_progress (
  trial_id     bigint           NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
  attempt      integer          NOT NULL,
  epoch        integer          NOT NULL,
  worker_id    text             NOT NULL,
  train_loss   double precision NOT NULL,
  val_accuracy double precision NOT NULL,
  seconds      double precision NOT NULL,
  reported_at  timestamptz      NOT NULL DEFAULT now(),
  PRIMARY KEY (trial_id, attempt, epoch)
);

-- Final metrics of successful evaluations, at most one per trial. The binary
-- EvaluationMetrics proto is the source of truth; the columns are for SQL.
CREATE TABLE results (
  id            bigserial PRIMARY KEY,  -- order in which results were stored
  trial_id      bigint           NOT NULL UNIQUE REFERENCES trials (id) ON DELETE CASCADE,
  attempt       integer          NOT NULL,
  worker_id     text             NOT NULL,
  experiment_id bigint           NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  candidate_id  bigint           NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
  val_accuracy  double precision NOT NULL,
  test_accuracy double precision NOT NULL,
  macs          bigint           NOT NULL,
  params        bigint           NOT NULL,
  latency_ms    double precision NOT NULL,
  train_seconds double precision NOT NULL,
  epochs        integer          NOT NULL,
  device        text             NOT NULL,
  metrics_proto bytea            NOT NULL,
  created_at    timestamptz      NOT NULL DEFAULT now()
);
-- ListResults: an experiment's results in storage order (strategy replay).
CREATE INDEX results_experiment_idx ON results (experiment_id, id);

-- The worker registry (RegisterWorker upserts, heartbeats touch).
CREATE TABLE workers (
  worker_id     text        PRIMARY KEY,
  device        text        NOT NULL DEFAULT '',
  labels        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  version       text        NOT NULL DEFAULT '',
  registered_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);

-- Content-addressed blobs (supernet weights, exported models, checkpoints):
-- `hash` is the hex digest of `data`.
CREATE TABLE artifacts (
  hash          text        PRIMARY KEY,
  kind          text        NOT NULL,
  experiment_id bigint      REFERENCES experiments (id) ON DELETE CASCADE,
  candidate_id  bigint      REFERENCES candidates (id) ON DELETE CASCADE,
  size          bigint      NOT NULL,
  data          bytea       NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX artifacts_owner_idx ON artifacts (experiment_id, candidate_id, kind);
