#include "client/curve.h"

#include <algorithm>
#include <string>
#include <tuple>

namespace nas {
namespace {

double Seconds(const google::protobuf::Timestamp& t) {
  return static_cast<double>(t.seconds()) + t.nanos() * 1e-9;
}

}  // namespace

std::vector<CurvePoint> BestSoFarCurve(
    const v1::Experiment& experiment,
    const std::vector<v1::Candidate>& candidates) {
  std::vector<const v1::Candidate*> done;
  for (const v1::Candidate& c : candidates) {
    if (c.state() == v1::CANDIDATE_EVALUATED && c.final_of() == 0 &&
        !c.supernet()) {
      done.push_back(&c);
    }
  }
  std::sort(done.begin(), done.end(),
            [](const v1::Candidate* a, const v1::Candidate* b) {
              return std::make_tuple(a->updated_at().seconds(),
                                     a->updated_at().nanos(), a->id()) <
                     std::make_tuple(b->updated_at().seconds(),
                                     b->updated_at().nanos(), b->id());
            });
  const double start = Seconds(experiment.created_at());
  std::vector<CurvePoint> out;
  double best = -1, simulated = 0;
  for (const v1::Candidate* c : done) {
    CurvePoint p;
    p.trial = static_cast<int>(out.size()) + 1;
    p.candidate_id = c->id();
    p.seconds = std::max(0.0, Seconds(c->updated_at()) - start);
    p.val_accuracy = c->metrics().val_accuracy();
    simulated += c->metrics().simulated_seconds();
    p.simulated_seconds = simulated;
    p.improved = p.val_accuracy > best;
    best = std::max(best, p.val_accuracy);
    p.best_val_accuracy = best;
    out.push_back(p);
  }
  return out;
}

google::protobuf::Struct CurveToStruct(int64_t experiment_id,
                                       const std::vector<CurvePoint>& curve) {
  google::protobuf::Struct out;
  auto& fields = *out.mutable_fields();
  fields["experiment_id"].set_string_value(std::to_string(experiment_id));
  auto* points = fields["points"].mutable_list_value();
  for (const CurvePoint& p : curve) {
    auto& f = *points->add_values()->mutable_struct_value()->mutable_fields();
    f["trial"].set_number_value(p.trial);
    f["candidate_id"].set_string_value(std::to_string(p.candidate_id));
    f["seconds"].set_number_value(p.seconds);
    f["simulated_seconds"].set_number_value(p.simulated_seconds);
    f["val_accuracy"].set_number_value(p.val_accuracy);
    f["best_val_accuracy"].set_number_value(p.best_val_accuracy);
    f["improved"].set_bool_value(p.improved);
  }
  return out;
}

}  // namespace nas
