BEGIN;
INSERT INTO candidates (experiment_id, seq, space, canonical, choices, arch_hash, state, macs, params) VALUES (1, nextval('pgbench_trial_seq'), 'nb201', '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|', '{3,3,3,1,3,3}', md5(random()::text), 'QUEUED', 1000000, 10000) RETURNING id AS cand \gset
INSERT INTO trials (experiment_id, candidate_id, max_attempts, lease_seconds) VALUES (1, :cand, 3, 60) RETURNING id AS trial \gset
UPDATE trials SET status = 'RUNNING', attempt = 1, worker_id = 'sim-0', started_at = now(), lease_until = now() + interval '60 s' WHERE id = :trial;
UPDATE candidates SET state = 'RUNNING', attempts = 1, updated_at = now() WHERE id = :cand;
INSERT INTO trial_attempts (trial_id, attempt, worker_id, lease_until) VALUES (:trial, 1, 'sim-0', now() + interval '60 s');
INSERT INTO results (trial_id, attempt, worker_id, experiment_id, candidate_id, val_accuracy, test_accuracy, macs, params, latency_ms, train_seconds, epochs, device, metrics_proto) VALUES (:trial, 1, 'sim-0', 1, :cand, 0.9, 0.89, 1000000, 10000, 1.5, 0, 1, 'simulated', '\x090c74d1f3c855e33f116193601d6ce6e23f1882c0830320c6e30e293cea7be735a8d23f40014a0973696d756c6174656451e87849e8964cd33f'::bytea);
UPDATE trials SET status = 'SUCCEEDED', finished_at = now(), lease_until = NULL WHERE id = :trial;
UPDATE trial_attempts SET outcome = 'SUCCEEDED', ended_at = now() WHERE trial_id = :trial AND attempt = 1;
UPDATE candidates SET state = 'EVALUATED', worker_id = 'sim-0', val_accuracy = 0.9, test_accuracy = 0.89, metric_macs = 1000000, metric_params = 10000, latency_ms = 1.5, train_seconds = 0, epochs = 1, device = 'simulated', updated_at = now() WHERE id = :cand;
COMMIT;
