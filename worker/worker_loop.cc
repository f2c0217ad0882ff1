#include "worker/worker_loop.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "nas/v1/worker.grpc.pb.h"
#include "worker/artifact_cache.h"
#include "worker/trial_watchdog.h"

namespace nas {
namespace {

using v1::WorkerService;

const char* StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    default:
      return "error";
  }
}

bool Retryable(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         s.error_code() == grpc::StatusCode::ABORTED;
}

absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  const bool auth = s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                    s.error_code() == grpc::StatusCode::PERMISSION_DENIED;
  return absl::Status(
      static_cast<absl::StatusCode>(s.error_code()),
      absl::StrCat(what, ": ", s.error_message(),
                   auth ? " (the controller refused this worker's token: "
                          "check --token_file / NAS_TOKEN, which must hold "
                          "the controller's worker token)"
                        : ""));
}

// Adds `authorization: Bearer <token>` to every call of the channel.
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string* header) : header_(header) {}
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", *header_});
    }
    methods->Proceed();
  }

 private:
  const std::string* const header_;
};

class BearerInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  // `header` must outlive every channel made with this factory.
  explicit BearerInterceptorFactory(const std::string* header)
      : header_(header) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(header_);
  }

 private:
  const std::string* const header_;
};

// gRPC's own reconnect backoff grows to 120 s, during which calls fail at
// once with the last connection error: a controller back after a restart
// could go unnoticed until unreachable_timeout. CallWithRetry therefore
// replaces the channel after an UNAVAILABLE call (with a subchannel pool of
// its own, so that the new channel does not inherit the old one's backoff)
// and does the backing off itself.
// `auth_header` ("" = no token) must outlive the stub.
std::shared_ptr<WorkerService::Stub> NewStub(const WorkerOptions& options,
                                             const std::string& address,
                                             const std::string* auth_header) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!options.tls_ca_pem.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_ca_pem;
    ssl.pem_cert_chain = options.tls_cert_pem;
    ssl.pem_private_key = options.tls_key_pem;
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  if (!auth_header->empty()) {
    interceptors.push_back(
        std::make_unique<BearerInterceptorFactory>(auth_header));
  }
  return WorkerService::NewStub(
      grpc::experimental::CreateCustomChannelWithInterceptors(
          address, credentials, args, std::move(interceptors)));
}

class Worker {
 public:
  Worker(const WorkerOptions& options, Evaluator* evaluator,
         const std::atomic<bool>* stop)
      : options_(options),
        evaluator_(evaluator),
        stop_(stop),
        auth_header_(options.token.empty()
                         ? std::string()
                         : absl::StrCat("Bearer ", options.token)),
        stub_(NewStub(options, options.controllers.at(0), &auth_header_)),
        cache_(
            options.cache_dir.empty() ? DefaultArtifactCacheDir()
                                      : options.cache_dir,
            [this](const std::string& hash, const ArtifactCache::Sink& sink) {
              return FetchArtifact(hash, sink);
            }) {}

  absl::Status Run() {
    evaluator_->SetArtifactFetcher(
        [this](const std::string& hash) { return cache_.Get(hash); });
    // Evaluators that can end a trial between epochs (COMMAND's program)
    // end it when its lease is lost or the worker is told to stop.
    evaluator_->SetStopCheck(
        [this] { return lease_lost_.load() || stop_->load(); });
    v1::RegisterWorkerRequest reg;
    reg.set_worker_id(options_.worker_id);
    reg.set_device(evaluator_->device());
    reg.mutable_labels()->insert(options_.labels.begin(),
                                 options_.labels.end());
    reg.set_version("0.1.0");
    v1::RegisterWorkerResponse reg_resp;
    absl::Status s =
        CallWithRetry("RegisterWorker", [&](grpc::ClientContext* ctx) {
          return stub()->RegisterWorker(ctx, reg, &reg_resp);
        });
    if (!s.ok()) return s;
    fprintf(stderr, "nas-worker %s: registered (%s)\n",
            options_.worker_id.c_str(), evaluator_->device().c_str());
    int done = 0;
    absl::Time last_work = absl::Now();
    // The trial leased with the last report (acquire_next), if any. A
    // worker told to stop still runs it (as it finishes the trial it
    // holds), so that no lease is left to expire.
    std::optional<v1::Trial> next;
    while (!stop_->load() || next.has_value()) {
      if (next.has_value()) {
        v1::Trial trial = *std::move(next);
        next.reset();
        if (options_.trials_from_report != nullptr) {
          ++*options_.trials_from_report;
        }
        next = RunTrial(trial, WantsNext(done));
        ++done;
        last_work = absl::Now();
        continue;
      }
      if (options_.max_trials > 0 && done >= options_.max_trials) break;
      if (options_.idle_exit > absl::ZeroDuration() &&
          absl::Now() - last_work > options_.idle_exit) {
        fprintf(stderr, "nas-worker %s: idle, exiting\n",
                options_.worker_id.c_str());
        break;
      }
      v1::AcquireTrialRequest req;
      req.set_worker_id(options_.worker_id);
      req.set_wait_ms(5000);
      v1::AcquireTrialResponse resp;
      const absl::Time acquire_start = absl::Now();
      s = CallWithRetry("AcquireTrial", [&](grpc::ClientContext* ctx) {
        ctx->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(15));
        return stub()->AcquireTrial(ctx, req, &resp);
      });
      if (options_.on_rpc) {
        options_.on_rpc("AcquireTrial", absl::Now() - acquire_start,
                        s.ok() && resp.has_trial());
      }
      if (absl::IsFailedPrecondition(s) &&
          absl::StrContains(s.message(), "RegisterWorker")) {
        // The controller forgot this worker (silent past its
        // --worker_retention, e.g. a stopped process): register again.
        fprintf(stderr, "nas-worker %s: registering again: %s\n",
                options_.worker_id.c_str(), s.ToString().c_str());
        s = CallWithRetry("RegisterWorker", [&](grpc::ClientContext* ctx) {
          return stub()->RegisterWorker(ctx, reg, &reg_resp);
        });
        if (!s.ok()) return stop_->load() ? absl::OkStatus() : s;
        continue;
      }
      if (absl::IsResourceExhausted(s)) {
        // This worker id holds the controller's limit of leases (e.g. a
        // restarted process reusing an id whose old lease has not expired
        // yet): wait, the lease expires or is released.
        fprintf(stderr, "nas-worker %s: waiting: %s\n",
                options_.worker_id.c_str(), s.ToString().c_str());
        absl::SleepFor(absl::Seconds(5));
        continue;
      }
      // Told to stop while the call was failing over: a normal stop.
      if (!s.ok()) return stop_->load() ? absl::OkStatus() : s;
      if (!resp.has_trial()) continue;
      next = RunTrial(resp.trial(), WantsNext(done));
      ++done;
      last_work = absl::Now();
    }
    return absl::OkStatus();
  }

 private:
  // Retries UNAVAILABLE-like failures with exponential backoff until
  // unreachable_timeout; other errors are returned at once.
  template <typename F>
  absl::Status CallWithRetry(const std::string& what, F call) {
    absl::Time first_failure = absl::InfiniteFuture();
    absl::Duration backoff = absl::Milliseconds(100);
    int retries = 0;
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
      grpc::Status status = call(&ctx);
      if (status.ok() && retries > 0) {
        fprintf(stderr, "nas-worker %s: %s succeeded after %d retries (%s)\n",
                options_.worker_id.c_str(), what.c_str(), retries,
                absl::FormatDuration(absl::Now() - first_failure).c_str());
      }
      if (status.ok()) return absl::OkStatus();
      if (!Retryable(status)) return FromGrpc(status, what);
      if (options_.metrics != nullptr)
        options_.metrics->ControllerUnreachable();
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE) Reconnect();
      const absl::Time now = absl::Now();
      if (first_failure == absl::InfiniteFuture()) first_failure = now;
      if (now - first_failure > options_.unreachable_timeout) {
        return absl::UnavailableError(absl::StrCat(
            what, ": controller ", absl::StrJoin(options_.controllers, ","),
            " unreachable for ", absl::FormatDuration(now - first_failure),
            ": ", status.error_message()));
      }
      if (stop_->load()) return FromGrpc(status, what);
      ++retries;
      fprintf(stderr, "nas-worker %s: %s failed (%s: %s); retry %d in %s\n",
              options_.worker_id.c_str(), what.c_str(),
              StatusCodeName(status.error_code()),
              status.error_message().substr(0, 200).c_str(), retries,
              absl::FormatDuration(backoff).c_str());
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  }

  // Streams artifact `hash` from the controller into `sink`; a stream that
  // breaks off (controller restart, network) is fetched again from the
  // start, with backoff, until unreachable_timeout.
  absl::Status FetchArtifact(const std::string& hash,
                             const ArtifactCache::Sink& sink) {
    const absl::Time start = absl::Now();
    absl::Time first_failure = absl::InfiniteFuture();
    absl::Duration backoff = absl::Milliseconds(200);
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::minutes(30));
      v1::FetchArtifactRequest req;
      req.set_worker_id(options_.worker_id);
      req.set_hash(hash);
      std::unique_ptr<grpc::ClientReader<v1::ArtifactChunk>> reader =
          stub()->FetchArtifact(&ctx, req);
      // Pieces go to a buffer first so that a broken stream can restart.
      std::string bytes;
      int64_t total = 0;
      int chunks = 0;
      v1::ArtifactChunk chunk;
      absl::Status bad;
      while (bad.ok() && reader->Read(&chunk)) {
        if (chunk.offset() != static_cast<int64_t>(bytes.size())) {
          bad = absl::DataLossError(
              absl::StrCat("artifact ", hash, ": chunk at offset ",
                           chunk.offset(), ", expected ", bytes.size()));
          ctx.TryCancel();
          break;
        }
        total = chunk.total_size();
        bytes += chunk.data();
        ++chunks;
      }
      grpc::Status status = reader->Finish();
      if (!bad.ok()) return bad;
      if (status.ok()) {
        fprintf(stderr,
                "nas-worker %s: fetched artifact %.12s (%zu bytes in %d "
                "chunks, %.2fs)\n",
                options_.worker_id.c_str(), hash.c_str(), bytes.size(), chunks,
                absl::ToDoubleSeconds(absl::Now() - start));
        return sink(bytes, total);
      }
      if (!Retryable(status)) return FromGrpc(status, "FetchArtifact");
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE) Reconnect();
      const absl::Time now = absl::Now();
      if (first_failure == absl::InfiniteFuture()) first_failure = now;
      if (now - first_failure > options_.unreachable_timeout || stop_->load()) {
        return FromGrpc(status, "FetchArtifact");
      }
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  }

  // Whether the report of trial number done+1 should lease the next one.
  bool WantsNext(int done) const {
    return !stop_->load() &&
           (options_.max_trials <= 0 || done + 1 < options_.max_trials);
  }

  // Evaluates and reports; returns the next trial when `want_next` asked
  // the report for one and the controller leased it.
  std::optional<v1::Trial> RunTrial(const v1::Trial& trial, bool want_next) {
    const std::string tag = absl::StrCat("[trial ", trial.trial_id(),
                                         " attempt ", trial.attempt(), "]");
    if (options_.log_trials) {
      fprintf(stderr, "nas-worker %s: %s candidate %lld %s\n",
              options_.worker_id.c_str(), tag.c_str(),
              static_cast<long long>(trial.candidate_id()),
              trial.genotype().canonical().c_str());
    }
    lease_lost_ = false;
    std::atomic<bool>& lease_lost = lease_lost_;
    // Tells the heartbeat thread to end. Its lock is held while a renewal
    // is in flight, so setting `stop` waits for that call.
    struct HeartbeatStop {
      absl::Mutex mu;
      absl::CondVar cv;
      bool stop ABSL_GUARDED_BY(mu) = false;
    } hb;
    const int period_s = std::max(1, trial.lease_seconds() / 3);
    std::thread heartbeat([&] {
      absl::MutexLock lock(&hb.mu);
      while (true) {
        // Every period_s, or at once when told to stop.
        const absl::Time renew_at = absl::Now() + absl::Seconds(period_s);
        while (!hb.stop && !hb.cv.WaitWithDeadline(&hb.mu, renew_at)) {
        }
        if (hb.stop) break;
        v1::RenewLeaseRequest req;
        req.set_worker_id(options_.worker_id);
        req.set_trial_id(trial.trial_id());
        req.set_attempt(trial.attempt());
        v1::RenewLeaseResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(period_s));
        grpc::Status s = stub()->RenewLease(&ctx, req, &resp);
        if (s.ok() && !resp.ok()) lease_lost = true;
        // The controller went away (a standby may be taking over): the
        // next heartbeat goes to the next address.
        if (s.error_code() == grpc::StatusCode::UNAVAILABLE) Reconnect();
      }
    });
    double last_epoch_end = 0;
    auto on_epoch = [&](const EpochProgress& p) {
      if (options_.metrics != nullptr) {
        options_.metrics->EpochDone(std::max(0.0, p.seconds - last_epoch_end));
      }
      last_epoch_end = p.seconds;
      v1::ReportProgressRequest req;
      req.set_worker_id(options_.worker_id);
      req.set_trial_id(trial.trial_id());
      req.set_attempt(trial.attempt());
      req.set_epoch(p.epoch);
      req.set_train_loss(p.train_loss);
      req.set_val_accuracy(p.val_accuracy);
      req.set_seconds(p.seconds);
      if (p.search) *req.mutable_search() = *p.search;
      v1::ReportProgressResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
      grpc::Status s = stub()->ReportProgress(&ctx, req, &resp);
      if (s.error_code() == grpc::StatusCode::UNAVAILABLE) Reconnect();
      if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
        fprintf(stderr, "nas-worker %s: %s progress refused: %s\n",
                options_.worker_id.c_str(), tag.c_str(),
                s.error_message().c_str());
      }
      if (s.ok() && resp.action() == v1::ReportProgressResponse::STOP) {
        // Early stopping: end training now, then report the result.
        fprintf(stderr, "nas-worker %s: %s stopped early: %s\n",
                options_.worker_id.c_str(), tag.c_str(), resp.reason().c_str());
        return false;
      }
      if (s.ok() && resp.action() == v1::ReportProgressResponse::ABANDON) {
        fprintf(stderr, "nas-worker %s: %s abandoned: %s\n",
                options_.worker_id.c_str(), tag.c_str(), resp.reason().c_str());
        lease_lost = true;
        return false;
      }
      return !lease_lost.load() && !stop_->load();
    };
    if (options_.metrics != nullptr) options_.metrics->EvaluationStarted();
    // An evaluator blocked past the attempt's limit (or past the grace
    // after it was asked to end) is abandoned: the process restarts.
    TrialWatchdog watchdog(
        TrialWatchdogOptions{options_.max_trial, options_.abandon_grace},
        [&] { return lease_lost.load() || stop_->load(); },
        [&](AbandonReason, const std::string& message) {
          Abandon(trial, tag, message);
        });
    absl::StatusOr<v1::EvaluationMetrics> metrics =
        evaluator_->Evaluate(trial, on_epoch);
    watchdog.Disarm();
    if (options_.metrics != nullptr) {
      options_.metrics->EvaluationEnded(trial.evaluation().mode(),
                                        metrics.ok() ? &*metrics : nullptr);
    }
    {
      absl::MutexLock lock(&hb.mu);
      hb.stop = true;
      hb.cv.SignalAll();
    }
    heartbeat.join();
    // A lost lease (expired while this process was stalled, re-leased, or
    // the experiment stopped) is reported all the same, without the model:
    // the controller is the one judge of staleness and refuses the report
    // (FAILED_PRECONDITION), so the refusal is visible on both sides.
    if (lease_lost.load()) {
      fprintf(stderr,
              "nas-worker %s: %s lease lost; reporting anyway, the controller "
              "refuses a stale attempt\n",
              options_.worker_id.c_str(), tag.c_str());
    }
    v1::ReportResultRequest req;
    req.set_worker_id(options_.worker_id);
    req.set_trial_id(trial.trial_id());
    req.set_attempt(trial.attempt());
    if (metrics.ok()) {
      *req.mutable_metrics() = *metrics;
      std::string model = evaluator_->TakeModel();
      if (!lease_lost.load()) req.set_model(std::move(model));
      if (std::optional<v1::SearchProgress> search = evaluator_->TakeSearch()) {
        *req.mutable_search() = std::move(*search);
      }
    } else {
      req.set_error(metrics.status().ToString());
    }
    req.set_acquire_next(want_next);
    v1::ReportResultResponse resp;
    const absl::Time report_start = absl::Now();
    absl::Status s =
        CallWithRetry("ReportResult", [&](grpc::ClientContext* ctx) {
          return stub()->ReportResult(ctx, req, &resp);
        });
    if (options_.on_rpc) {
      options_.on_rpc("ReportResult", absl::Now() - report_start,
                      s.ok() && resp.accepted());
    }
    if (absl::IsResourceExhausted(s) && req.error().empty()) {
      // Too large for the controller (--max_message_mib): the trial fails
      // with that reason instead of being retried by every worker.
      const size_t bytes = req.ByteSizeLong();
      req.clear_metrics();
      req.clear_model();
      req.clear_search();
      req.set_error(
          absl::StrCat("result of ", bytes,
                       " bytes refused by the controller: ", s.message()));
      s = CallWithRetry("ReportResult", [&](grpc::ClientContext* ctx) {
        return stub()->ReportResult(ctx, req, &resp);
      });
    }
    std::optional<v1::Trial> next;
    if (s.ok() && resp.has_next_trial()) next = resp.next_trial();
    if (!s.ok()) {
      fprintf(stderr, "nas-worker %s: %s result refused: %s\n",
              options_.worker_id.c_str(), tag.c_str(), s.ToString().c_str());
    } else if (req.error().empty()) {
      if (options_.results_accepted != nullptr && resp.accepted()) {
        ++*options_.results_accepted;
      }
      if (!options_.log_trials) return next;
      fprintf(stderr,
              "nas-worker %s: %s done: val_acc %.4f test_acc %.4f (%.1fs)\n",
              options_.worker_id.c_str(), tag.c_str(), metrics->val_accuracy(),
              metrics->test_accuracy(), metrics->train_seconds());
    } else {
      fprintf(stderr, "nas-worker %s: %s failed: %s\n",
              options_.worker_id.c_str(), tag.c_str(), req.error().c_str());
    }
    return next;
  }

  // The watchdog's verdict on an attempt whose evaluator does not return:
  // one try (5 s) to report it failed, a log line, then on_abandoned
  // (which does not return). Runs on the watchdog's thread.
  void Abandon(const v1::Trial& trial, const std::string& tag,
               const std::string& message) {
    const bool shutting_down = stop_->load();
    const std::string error = absl::StrCat(
        "DEADLINE_EXCEEDED: worker ", options_.worker_id, " abandoned ", tag,
        ": ", message, "; the worker ", shutting_down ? "exits" : "restarts");
    fprintf(stderr, "nas-worker %s: %s abandoned: %s; %s\n",
            options_.worker_id.c_str(), tag.c_str(), message.c_str(),
            shutting_down ? "exiting" : "restarting the process");
    v1::ReportResultRequest req;
    req.set_worker_id(options_.worker_id);
    req.set_trial_id(trial.trial_id());
    req.set_attempt(trial.attempt());
    req.set_error(error);
    v1::ReportResultResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    grpc::Status s = stub()->ReportResult(&ctx, req, &resp);
    if (!s.ok()) {
      fprintf(stderr, "nas-worker %s: %s reporting the abandoned attempt: %s\n",
              options_.worker_id.c_str(), tag.c_str(),
              s.error_message().c_str());
    }
    fflush(stderr);
    if (options_.on_abandoned) options_.on_abandoned(shutting_down);
    std::_Exit(3);
  }

  const WorkerOptions& options_;
  Evaluator* const evaluator_;
  const std::atomic<bool>* stop_;
  // The trial in progress lost its lease (RenewLease refused, or ABANDON):
  // set by the heartbeat thread and the progress callback, read by the
  // evaluator's StopCheck.
  std::atomic<bool> lease_lost_{false};
  // "Bearer <token>", or "" without a token; never logged.
  const std::string auth_header_;
  // The current stub (replaced by Reconnect); shared with the heartbeat.
  std::shared_ptr<WorkerService::Stub> stub() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return stub_;
  }
  // A fresh channel to the next controller address (round robin; the same
  // one when there is only one).
  void Reconnect() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    const size_t n = options_.controllers.size();
    const size_t next = (current_ + 1) % n;
    if (next != current_) {
      fprintf(stderr, "nas-worker %s: controller %s unavailable; trying %s\n",
              options_.worker_id.c_str(),
              options_.controllers[current_].c_str(),
              options_.controllers[next].c_str());
    }
    current_ = next;
    stub_ = NewStub(options_, options_.controllers[current_], &auth_header_);
  }

  // Shared by the heartbeat thread and the trial loop: Reconnect holds it
  // throughout (one reconnect at a time), stub() only to copy the pointer.
  absl::Mutex mu_;
  // Index in options_.controllers of the current address.
  size_t current_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<WorkerService::Stub> stub_ ABSL_GUARDED_BY(mu_);
  ArtifactCache cache_;
};

}  // namespace

absl::Status RunWorker(const WorkerOptions& options, Evaluator* evaluator,
                       const std::atomic<bool>* stop) {
  Worker worker(options, evaluator, stop);
  return worker.Run();
}

}  // namespace nas
