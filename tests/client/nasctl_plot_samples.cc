// Writes the SVGs nasctl draws into OUTDIR, each made by a real nasctl
// command over real gRPC from the fake service's plot samples
// (plot_samples.h), for svg_plots_test.py to parse: pareto_2d.svg,
// pareto_3d.svg, curve.svg, curves.svg, proxies.svg, and expected.json with the
// counts the pictures must show. Exit 0 when every command succeeded.
//
// Usage: nasctl_plot_samples OUTDIR
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/nasctl.h"
#include "tests/client/fake_experiment_service.h"
#include "tests/client/plot_samples.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: nasctl_plot_samples OUTDIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  nas::testing::FakeExperimentService service;
  const nas::testing::PlotSampleCounts counts =
      nas::testing::AddPlotSamples(service);
  int port = 0;
  grpc::ServerBuilder b;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  b.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  if (server == nullptr) return 1;
  const std::string front = std::to_string(nas::testing::kFrontExperiment);
  const std::string curves = std::to_string(nas::testing::kCurvesExperiment);
  const std::vector<std::vector<std::string>> commands = {
      {"pareto", front, "--minimize", "macs", "--svg", dir + "/pareto_2d.svg"},
      {"pareto", front, "--minimize", "macs,latency_ms", "--svg",
       dir + "/pareto_3d.svg"},
      {"curve", front, "--svg", dir + "/curve.svg"},
      {"curves", curves, "--svg", dir + "/curves.svg"},
      {"proxies", std::to_string(nas::testing::kProxyExperiment), "--svg",
       dir + "/proxies.svg"},
  };
  int rc = 0;
  for (std::vector<std::string> args : commands) {
    args.push_back("--controller");
    args.push_back(absl::StrCat("127.0.0.1:", port));
    std::ostringstream out, err;
    const int one = nas::RunNasctl(args, out, err);
    std::cerr << err.str();
    if (one != 0) rc = 1;
  }
  // The front's size per objective set, from the same fake.
  auto front_size = [&](std::vector<std::string> minimize) {
    nas::v1::GetParetoFrontRequest req;
    req.set_experiment_id(nas::testing::kFrontExperiment);
    for (const std::string& m : minimize) req.add_minimize(m);
    nas::v1::GetParetoFrontResponse resp;
    grpc::ServerContext ctx;
    (void)service.GetParetoFront(&ctx, &req, &resp);  // the fake cannot fail
    return resp.front_size();
  };
  std::ofstream(dir + "/expected.json")
      << "{\"curves_with_points\": " << counts.curves_with_points
      << ", \"stopped\": " << counts.stopped
      << ", \"front_2d\": " << front_size({"macs"})
      << ", \"front_3d\": " << front_size({"macs", "latency_ms"})
      << ", \"evaluated\": "
      << service.candidates[nas::testing::kFrontExperiment].size() << "}\n";
  server->Shutdown();
  return rc;
}
