// Authentication end to end: a real controller serving mutual TLS with the
// two roles' bearer tokens (certificates made by `openssl` at test time);
// every RPC of both services called with no token, a wrong token, the other
// role's token and the right one; a real worker completing a TABULAR
// experiment over TLS, and one with a client token exiting non-zero; no
// token in any log. One cluster for the whole suite (SetUpTestSuite).
#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <fstream>
#include <functional>
#include <iomanip>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/spaces/search_space.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "nas/v1/experiment.grpc.pb.h"
#include "nas/v1/worker.grpc.pb.h"
#include "tests/testing/cluster.h"
#include "tests/testing/process.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::Binary;
using ::nas::testing::ChildProcess;

constexpr char kClientToken[] = "client-tok-7f3a9c2e51";
constexpr char kWorkerToken[] = "worker-tok-b84d06e1f9";
constexpr char kWrongToken[] = "wrong-tok-00c0ffee42";

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A CA, a server certificate for "nas-controller" and 127.0.0.1, and a
// client certificate, all signed by the CA, in `dir`.
bool MakeCertificates(const std::string& dir, std::string* out) {
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1";
  const std::string cmd = absl::StrCat(
      "(cd ", dir, " && set -e", " && openssl req -x509 ", key,
      " -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=nas-test-ca",
      " && openssl req ", key,
      " -nodes -keyout server.key -out server.csr -subj /CN=nas-controller",
      " && printf 'subjectAltName=DNS:nas-controller,IP:127.0.0.1\\n' > "
      "server.ext",
      " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -out server.pem -days 1 -extfile server.ext",
      " && openssl req ", key,
      " -nodes -keyout client.key -out client.csr -subj /CN=nas-worker",
      " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -out client.pem -days 1) 2>&1");
  return testing::RunCommand(cmd, out) == 0;
}

std::string WriteTable(const std::string& dir) {
  const SearchSpace* space = *GetSearchSpace("nb201");
  const std::string path = dir + "/table.csv";
  std::ofstream out(path);
  out << std::setprecision(8) << "arch,val_pct,test_pct,train_s\n";
  for (int i = 0; i < 15625; ++i) {
    std::vector<int> choices;
    for (int e = 0, x = i; e < 6; ++e, x /= 5) choices.push_back(x % 5);
    const double val = 50 + (i % 97) * 0.3;
    out << *space->Canonical(choices) << "," << val << "," << val - 1 << ","
        << 20 + i % 13 << "\n";
  }
  return path;
}

class Auth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new testing::LocalCluster();
    NAS_ASSERT_OK(cluster_->Start("auth"));
    const std::string& dir = cluster_->dir();
    std::string out;
    ASSERT_TRUE(MakeCertificates(dir, &out)) << out;
    WriteText(dir + "/client.token", std::string(kClientToken) + "\n");
    WriteText(dir + "/worker.token", std::string(kWorkerToken) + "\n");
    WriteText(dir + "/wrong.token", std::string(kWrongToken) + "\n");
    // The worker token through the environment, the client's from a file.
    setenv("NAS_WORKER_TOKEN", kWorkerToken, 1);
    unsetenv("NAS_TOKEN");
    const bool started = cluster_->StartController(
        "controller",
        {"--tls_cert=" + dir + "/server.pem",
         "--tls_key=" + dir + "/server.key",
         "--tls_client_ca=" + dir + "/ca.pem",
         "--client_token_file=" + dir + "/client.token"},
        /*connect_client=*/false);
    unsetenv("NAS_WORKER_TOKEN");
    ASSERT_TRUE(started);
    channel_ = new std::shared_ptr<grpc::Channel>(TlsChannel(true));
    ASSERT_TRUE((*channel_)->WaitForConnected(std::chrono::system_clock::now() +
                                              std::chrono::seconds(30)))
        << testing::ReadLog(*cluster_, "controller");
  }

  static void TearDownTestSuite() {
    delete channel_;
    cluster_->Finish(!::testing::UnitTest::GetInstance()->Passed(), 30);
    delete cluster_;
  }

  // A TLS channel trusting the test CA, with the client certificate when
  // `client_cert`.
  static std::shared_ptr<grpc::Channel> TlsChannel(bool client_cert) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = testing::ReadFile(cluster_->dir() + "/ca.pem");
    if (client_cert) {
      ssl.pem_cert_chain = testing::ReadFile(cluster_->dir() + "/client.pem");
      ssl.pem_private_key = testing::ReadFile(cluster_->dir() + "/client.key");
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("nas-controller");
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(cluster_->address(),
                                     grpc::SslCredentials(ssl), args);
  }

  // A context carrying `token` ("" = no authorization metadata).
  static void Prepare(grpc::ClientContext* ctx, const std::string& token) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  }

  static grpc::Status CreateTabular(const std::string& token, int64_t* id) {
    auto stub = v1::ExperimentService::NewStub(*channel_);
    v1::CreateExperimentRequest req;
    testing::SpecYaml spec;
    spec.name = "auth-tabular";
    spec.strategy = "{name: random, seed: 5}";
    spec.budget = testing::TrialBudget(6, 1);
    spec.evaluation =
        testing::TabularLookup(WriteTable(cluster_->dir()), 1, "");
    req.set_spec_yaml(spec.Yaml());
    v1::Experiment e;
    grpc::ClientContext ctx;
    Prepare(&ctx, token);
    grpc::Status s = stub->CreateExperiment(&ctx, req, &e);
    if (id != nullptr) *id = e.id();
    return s;
  }

  // A worker over mutual TLS, with `extra` flags (its token).
  static ChildProcess* StartWorker(const std::string& id,
                                   std::vector<std::string> extra) {
    const std::string& dir = cluster_->dir();
    std::vector<std::string> flags = {
        "--unreachable_timeout_seconds=20", "--tls_ca=" + dir + "/ca.pem",
        "--tls_cert=" + dir + "/client.pem", "--tls_key=" + dir + "/client.key",
        "--tls_server_name=nas-controller"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    return cluster_->StartWorker(id, flags);
  }

  static testing::LocalCluster* cluster_;
  static std::shared_ptr<grpc::Channel>* channel_;
};

testing::LocalCluster* Auth::cluster_ = nullptr;
std::shared_ptr<grpc::Channel>* Auth::channel_ = nullptr;

// Reads a server stream to its end; its status.
template <typename T>
grpc::Status Drain(std::unique_ptr<grpc::ClientReader<T>> reader) {
  T item;
  while (reader->Read(&item)) {
  }
  return reader->Finish();
}

struct Rpc {
  std::string name;
  bool worker_role;
  std::function<grpc::Status(grpc::ClientContext*)> call;
};

std::vector<Rpc> AllRpcs(const std::shared_ptr<grpc::Channel>& channel) {
  std::shared_ptr<v1::ExperimentService::Stub> e =
      v1::ExperimentService::NewStub(channel);
  std::shared_ptr<v1::WorkerService::Stub> w =
      v1::WorkerService::NewStub(channel);
  std::vector<Rpc> rpcs;
  auto add_e = [&](std::string name, auto method, auto request, auto response) {
    rpcs.push_back({name, false, [e, method](grpc::ClientContext* ctx) {
                      decltype(response) out;
                      return ((*e).*method)(ctx, decltype(request)(), &out);
                    }});
  };
  auto add_w = [&](std::string name, auto method, auto request, auto response) {
    rpcs.push_back({name, true, [w, method](grpc::ClientContext* ctx) {
                      decltype(response) out;
                      return ((*w).*method)(ctx, decltype(request)(), &out);
                    }});
  };
  using ES = v1::ExperimentService::Stub;
  using WS = v1::WorkerService::Stub;
  add_e("CreateExperiment", &ES::CreateExperiment,
        v1::CreateExperimentRequest(), v1::Experiment());
  add_e("GetExperiment", &ES::GetExperiment, v1::GetExperimentRequest(),
        v1::Experiment());
  add_e("ListExperiments", &ES::ListExperiments, v1::ListExperimentsRequest(),
        v1::ListExperimentsResponse());
  add_e("StopExperiment", &ES::StopExperiment, v1::StopExperimentRequest(),
        v1::Experiment());
  add_e("ListCandidates", &ES::ListCandidates, v1::ListCandidatesRequest(),
        v1::ListCandidatesResponse());
  add_e("GetParetoFront", &ES::GetParetoFront, v1::GetParetoFrontRequest(),
        v1::GetParetoFrontResponse());
  add_e("ExportCandidate", &ES::ExportCandidate, v1::ExportCandidateRequest(),
        v1::ExportCandidateResponse());
  add_e("ListSearchEpochs", &ES::ListSearchEpochs,
        v1::ListSearchEpochsRequest(), v1::ListSearchEpochsResponse());
  add_e("ExtendExperiment", &ES::ExtendExperiment,
        v1::ExtendExperimentRequest(), v1::Experiment());
  add_e("ListLearningCurves", &ES::ListLearningCurves,
        v1::ListLearningCurvesRequest(), v1::ListLearningCurvesResponse());
  rpcs.push_back({"WatchExperiment", false, [e](grpc::ClientContext* ctx) {
                    v1::WatchExperimentRequest req;
                    req.set_id(987654);
                    return Drain(e->WatchExperiment(ctx, req));
                  }});
  add_w("RegisterWorker", &WS::RegisterWorker, v1::RegisterWorkerRequest(),
        v1::RegisterWorkerResponse());
  rpcs.push_back({"AcquireTrial", true, [w](grpc::ClientContext* ctx) {
                    v1::AcquireTrialRequest req;
                    req.set_worker_id("auth-matrix");
                    req.set_wait_ms(1);
                    v1::AcquireTrialResponse out;
                    return w->AcquireTrial(ctx, req, &out);
                  }});
  add_w("RenewLease", &WS::RenewLease, v1::RenewLeaseRequest(),
        v1::RenewLeaseResponse());
  add_w("ReportProgress", &WS::ReportProgress, v1::ReportProgressRequest(),
        v1::ReportProgressResponse());
  add_w("ReportResult", &WS::ReportResult, v1::ReportResultRequest(),
        v1::ReportResultResponse());
  rpcs.push_back({"FetchArtifact", true, [w](grpc::ClientContext* ctx) {
                    v1::FetchArtifactRequest req;
                    req.set_worker_id("auth-matrix");
                    req.set_hash(std::string(64, 'a'));
                    return Drain(w->FetchArtifact(ctx, req));
                  }});
  return rpcs;
}

TEST_F(Auth, EveryRpcChecksTheTokenAndItsRole) {
  const std::vector<Rpc> rpcs = AllRpcs(*channel_);
  // Every method of both services (a method added later fails this).
  ASSERT_EQ(rpcs.size(),
            static_cast<size_t>(v1::Experiment::descriptor()
                                    ->file()
                                    ->FindServiceByName("ExperimentService")
                                    ->method_count() +
                                v1::RegisterWorkerRequest::descriptor()
                                    ->file()
                                    ->FindServiceByName("WorkerService")
                                    ->method_count()));
  for (const Rpc& rpc : rpcs) {
    SCOPED_TRACE(rpc.name);
    const std::string own = rpc.worker_role ? kWorkerToken : kClientToken;
    const std::string other = rpc.worker_role ? kClientToken : kWorkerToken;
    struct Case {
      std::string token;
      grpc::StatusCode want;
    };
    for (const Case& c : {Case{"", grpc::StatusCode::UNAUTHENTICATED},
                          Case{kWrongToken, grpc::StatusCode::UNAUTHENTICATED},
                          Case{other, grpc::StatusCode::PERMISSION_DENIED}}) {
      grpc::ClientContext ctx;
      Prepare(&ctx, c.token);
      grpc::Status s = rpc.call(&ctx);
      EXPECT_EQ(s.error_code(), c.want)
          << "token '" << c.token << "': " << s.error_message();
      EXPECT_FALSE(absl::StrContains(s.error_message(), c.token) &&
                   !c.token.empty())
          << s.error_message();
      EXPECT_FALSE(absl::StrContains(s.error_message(), own));
    }
    // The right token: past authentication (the empty request may still
    // be refused for what it says: NOT_FOUND, INVALID_ARGUMENT, ...).
    grpc::ClientContext ctx;
    Prepare(&ctx, own);
    grpc::Status s = rpc.call(&ctx);
    EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << s.error_message();
    EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << s.error_message();
    EXPECT_NE(s.error_code(), grpc::StatusCode::UNAVAILABLE)
        << s.error_message();
  }
  // A malformed header (no "Bearer " scheme) is no token.
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", kClientToken);
  v1::ListExperimentsResponse out;
  EXPECT_EQ(v1::ExperimentService::NewStub(*channel_)
                ->ListExperiments(&ctx, v1::ListExperimentsRequest(), &out)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(Auth, HealthStaysOpenWithoutToken) {
  auto health = grpc::health::v1::Health::NewStub(*channel_);
  grpc::ClientContext ctx;
  Prepare(&ctx, "");
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status s =
      health->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(Auth, PlaintextOrNoClientCertificateCannotConnect) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  for (const auto& channel :
       {grpc::CreateCustomChannel(cluster_->address(),
                                  grpc::InsecureChannelCredentials(), args),
        TlsChannel(false)}) {
    grpc::ClientContext ctx;
    Prepare(&ctx, kClientToken);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(2));
    v1::ListExperimentsResponse out;
    grpc::Status s = v1::ExperimentService::NewStub(channel)->ListExperiments(
        &ctx, v1::ListExperimentsRequest(), &out);
    EXPECT_TRUE(s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
        << s.error_code() << " " << s.error_message();
  }
}

TEST_F(Auth, WorkerWithItsTokenFinishesAnExperimentOtherTokensExit) {
  int64_t id = 0;
  grpc::Status s = CreateTabular(kClientToken, &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ChildProcess* good = StartWorker(
      "good", {"--token_file=" + cluster_->dir() + "/worker.token"});
  // A client token: refused at registration, exit 1 naming the problem.
  ChildProcess* wrong_role = StartWorker(
      "wrong-role", {"--token_file=" + cluster_->dir() + "/client.token"});
  // No token at all (NAS_TOKEN unset).
  ChildProcess* none = StartWorker("none", {});
  ASSERT_TRUE(good && wrong_role && none);
  for (ChildProcess* w : {wrong_role, none}) {
    std::optional<int> code = w->WaitFor(absl::Seconds(30));
    ASSERT_TRUE(code.has_value()) << w->log_path() << " still running";
    EXPECT_EQ(*code, 1);
  }
  const std::string wrong_log = testing::ReadLog(*cluster_, "wrong-role");
  EXPECT_TRUE(absl::StrContains(wrong_log, "PERMISSION_DENIED")) << wrong_log;
  EXPECT_TRUE(absl::StrContains(wrong_log, "worker token")) << wrong_log;
  const std::string none_log = testing::ReadLog(*cluster_, "none");
  EXPECT_TRUE(absl::StrContains(none_log, "UNAUTHENTICATED")) << none_log;

  auto stub = v1::ExperimentService::NewStub(*channel_);
  const absl::Time end = absl::Now() + absl::Seconds(40);
  v1::Experiment e;
  while (absl::Now() < end) {
    grpc::ClientContext ctx;
    Prepare(&ctx, kClientToken);
    v1::GetExperimentRequest req;
    req.set_id(id);
    ASSERT_TRUE(stub->GetExperiment(&ctx, req, &e).ok());
    if (e.state() == v1::EXPERIMENT_SUCCEEDED) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(e.state(), v1::EXPERIMENT_SUCCEEDED) << e.DebugString();
  ASSERT_TRUE(good->Running()) << testing::ReadLog(*cluster_, "good");
  good->Signal(SIGTERM);
  good->WaitFor(absl::Seconds(10));
  // The tokens appear in no log.
  for (const std::string name : {"controller", "good", "wrong-role", "none"}) {
    const std::string log = testing::ReadLog(*cluster_, name);
    EXPECT_FALSE(log.empty()) << name;
    for (const char* token : {kClientToken, kWorkerToken, kWrongToken}) {
      EXPECT_FALSE(absl::StrContains(log, token)) << name << " logs a token";
    }
  }
}

}  // namespace
}  // namespace nas
