// An in-process ExperimentService serving hand-made experiments,
// candidates and learning curves, for nasctl tests that need real gRPC but
// not the controller. Not thread-safe to modify while a call runs: fill it
// before the requests.
#ifndef NAS_TESTS_CLIENT_FAKE_EXPERIMENT_SERVICE_H_
#define NAS_TESTS_CLIENT_FAKE_EXPERIMENT_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "nas/v1/experiment.grpc.pb.h"

namespace nas {
namespace testing {

class FakeExperimentService final : public v1::ExperimentService::Service {
 public:
  std::map<int64_t, v1::Experiment> experiments;
  std::map<int64_t, std::vector<v1::Candidate>> candidates;
  // ListLearningCurves' curves and epochs, served in pages of at most
  // curves_page_size (whatever the request asks: paging is exercised).
  std::map<int64_t, v1::ListLearningCurvesResponse> curves;
  int curves_page_size = 2;
  // Every ExtendExperiment request received, in order.
  std::vector<v1::ExtendExperimentRequest> extend_requests;

  grpc::Status GetExperiment(grpc::ServerContext*,
                             const v1::GetExperimentRequest* req,
                             v1::Experiment* out) override {
    auto it = experiments.find(req->id());
    if (it == experiments.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such experiment");
    }
    *out = it->second;
    return grpc::Status::OK;
  }
  grpc::Status ListCandidates(grpc::ServerContext*,
                              const v1::ListCandidatesRequest* req,
                              v1::ListCandidatesResponse* out) override {
    for (const v1::Candidate& k : candidates[req->experiment_id()]) {
      if (req->state() != v1::CANDIDATE_STATE_UNSPECIFIED &&
          k.state() != req->state()) {
        continue;
      }
      *out->add_candidates() = k;
    }
    out->set_total(out->candidates_size());
    return grpc::Status::OK;
  }
  grpc::Status ListExperiments(grpc::ServerContext*,
                               const v1::ListExperimentsRequest*,
                               v1::ListExperimentsResponse* out) override {
    for (const auto& [id, e] : experiments) *out->add_experiments() = e;
    return grpc::Status::OK;
  }
  grpc::Status WatchExperiment(
      grpc::ServerContext*, const v1::WatchExperimentRequest* req,
      grpc::ServerWriter<v1::ExperimentEvent>* writer) override {
    auto it = experiments.find(req->id());
    if (it == experiments.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such experiment");
    }
    v1::ExperimentEvent ev;
    *ev.mutable_experiment() = it->second;
    writer->Write(ev);
    return grpc::Status::OK;
  }
  // As the controller since issue 23: stopping an ended experiment returns
  // it unchanged.
  grpc::Status StopExperiment(grpc::ServerContext*,
                              const v1::StopExperimentRequest* req,
                              v1::Experiment* out) override {
    auto it = experiments.find(req->id());
    if (it == experiments.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such experiment");
    }
    if (it->second.state() == v1::EXPERIMENT_RUNNING) {
      it->second.set_state(v1::EXPERIMENT_STOPPED);
    }
    *out = it->second;
    return grpc::Status::OK;
  }
  // Records the request; raises the budget and runs the experiment again.
  grpc::Status ExtendExperiment(grpc::ServerContext*,
                                const v1::ExtendExperimentRequest* req,
                                v1::Experiment* out) override {
    extend_requests.push_back(*req);
    auto it = experiments.find(req->id());
    if (it == experiments.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such experiment");
    }
    if (it->second.state() == v1::EXPERIMENT_FAILED) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "experiment FAILED");
    }
    v1::BudgetSpec& b = *it->second.mutable_spec()->mutable_budget();
    if (req->max_trials() > 0) b.set_max_trials(req->max_trials());
    if (req->max_simulated_seconds() > 0) {
      b.set_max_simulated_seconds(req->max_simulated_seconds());
    }
    it->second.set_state(v1::EXPERIMENT_RUNNING);
    it->second.clear_finished_at();
    *out = it->second;
    return grpc::Status::OK;
  }
  grpc::Status ExportCandidate(grpc::ServerContext*,
                               const v1::ExportCandidateRequest*,
                               v1::ExportCandidateResponse* out) override {
    out->set_torchscript("PK-model-bytes");
    out->set_source("search");
    return grpc::Status::OK;
  }
  grpc::Status CreateExperiment(grpc::ServerContext*,
                                const v1::CreateExperimentRequest*,
                                v1::Experiment* out) override {
    out->set_id(100);
    out->set_state(v1::EXPERIMENT_RUNNING);
    return grpc::Status::OK;
  }
  grpc::Status ListSearchEpochs(grpc::ServerContext*,
                                const v1::ListSearchEpochsRequest*,
                                v1::ListSearchEpochsResponse*) override {
    return grpc::Status::OK;
  }

  // The evaluated search candidates no other one dominates (val_accuracy
  // maximized, the costs minimized), by descending val_accuracy.
  grpc::Status GetParetoFront(grpc::ServerContext*,
                              const v1::GetParetoFrontRequest* req,
                              v1::GetParetoFrontResponse* out) override {
    if (!experiments.count(req->experiment_id())) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such experiment");
    }
    out->add_objectives("val_accuracy");
    for (const std::string& m : req->minimize()) out->add_objectives(m);
    if (req->minimize().empty()) out->add_objectives("macs");
    auto values = [&](const v1::Candidate& k) {
      std::vector<double> v = {-k.metrics().val_accuracy()};
      for (int i = 1; i < out->objectives_size(); ++i) {
        const std::string& o = out->objectives(i);
        v.push_back(o == "params"       ? k.metrics().params()
                    : o == "latency_ms" ? k.metrics().latency_ms()
                                        : k.metrics().macs());
      }
      return v;  // all minimized
    };
    std::vector<v1::Candidate> done;
    for (const v1::Candidate& k : candidates[req->experiment_id()]) {
      if (k.state() == v1::CANDIDATE_EVALUATED && k.final_of() == 0 &&
          !k.supernet()) {
        done.push_back(k);
      }
    }
    for (const v1::Candidate& k : done) {
      const std::vector<double> a = values(k);
      const bool dominated =
          std::any_of(done.begin(), done.end(), [&](const v1::Candidate& o) {
            const std::vector<double> b = values(o);
            bool better = false;
            for (size_t i = 0; i < a.size(); ++i) {
              if (b[i] > a[i]) return false;
              better = better || b[i] < a[i];
            }
            return better;
          });
      if (!dominated) *out->add_front() = k;
    }
    std::sort(out->mutable_front()->begin(), out->mutable_front()->end(),
              [](const v1::Candidate& a, const v1::Candidate& b) {
                return a.metrics().val_accuracy() > b.metrics().val_accuracy();
              });
    return grpc::Status::OK;
  }
  grpc::Status ListLearningCurves(
      grpc::ServerContext*, const v1::ListLearningCurvesRequest* req,
      v1::ListLearningCurvesResponse* out) override {
    auto it = curves.find(req->experiment_id());
    if (it == curves.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such experiment");
    }
    int start = 0;
    if (!req->page_token().empty() &&
        !absl::SimpleAtoi(req->page_token(), &start)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_token");
    }
    const int n = it->second.curves_size();
    const int end = std::min(n, start + curves_page_size);
    for (int i = start; i < end; ++i) {
      *out->add_curves() = it->second.curves(i);
    }
    if (end < n) out->set_next_page_token(std::to_string(end));
    out->set_epochs(it->second.epochs());
    return grpc::Status::OK;
  }
};

}  // namespace testing
}  // namespace nas

#endif  // NAS_TESTS_CLIENT_FAKE_EXPERIMENT_SERVICE_H_
