// The nas-client Python package as a user installs it (issue 23): a fresh
// virtual environment (--system-site-packages: Debian's grpcio and
// protobuf), the wheel built from <build>/python-package by pip offline and
// installed by pip, then python_package_check.py run with that venv's
// interpreter from a scratch directory with no PYTHONPATH (python -I)
// against a real controller, PostgreSQL and simulated workers
// (nas-simworker): submit, watch to the end, candidates over several
// pages, enum members, NotFound and InvalidArgument.
#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/cluster.h"
#include "tests/testing/process.h"
#include "tests/testing/spec_yaml.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using testing::Binary;
using testing::ChildProcess;
using testing::ShellQuote;

constexpr int kTrials = 8;

// Runs `command` under /bin/sh; stdout and stderr together in the result.
int Sh(const std::string& command, std::string* output) {
  return testing::RunCommand("(" + command + ") 2>&1", output);
}

TEST(PythonPackage, InstallsIntoAFreshVenvAndDrivesARealController) {
  testing::LocalCluster cluster;
  NAS_ASSERT_OK(cluster.Start("python-package"));
  ASSERT_TRUE(cluster.StartController());
  auto sim = ChildProcess::Spawn(
      {Binary("worker/nas-simworker"), "--controller=" + cluster.address(),
       "--workers=2", "--idle_exit_seconds=120"},
      cluster.dir() + "/sim.log");
  NAS_ASSERT_OK(sim);
  const std::string dir = cluster.dir();

  // Built offline: the build tree's package (copied: pip builds in the
  // tree it is given), Debian's pip and setuptools.
  std::string out;
  const std::string venv = dir + "/venv";
  const std::string src = dir + "/python-package";
  int rc = Sh(
      absl::StrCat("cp -r ",
                   ShellQuote(std::string(NAS_BINARY_DIR) + "/python-package"),
                   " ", ShellQuote(src),
                   " && /usr/bin/python3 -m venv --system-site-packages ",
                   ShellQuote(venv), " && ", ShellQuote(venv),
                   "/bin/python -m pip wheel --quiet --no-deps "
                   "--no-build-isolation --no-index --wheel-dir ",
                   ShellQuote(dir + "/dist"), " ", ShellQuote(src), " && ",
                   ShellQuote(venv),
                   "/bin/python -m pip install --quiet --no-index "
                   "--no-build-isolation ",
                   ShellQuote(dir + "/dist"), "/nas_client-*.whl"),
      &out);
  ASSERT_EQ(rc, 0) << out;

  testing::SpecYaml spec;
  spec.name = "python-package";
  spec.strategy = "{name: random, seed: 5}";
  spec.budget = testing::TrialBudget(kTrials, 2);
  spec.evaluation = "{mode: FULL, epochs: 1}";
  const std::string scratch = dir + "/scratch";
  rc = Sh(
      absl::StrCat("mkdir -p ", ShellQuote(scratch), " && cp ", NAS_SOURCE_DIR,
                   "/tests/e2e/python_package_check.py ", ShellQuote(scratch),
                   " && printf %s ", ShellQuote(spec.Yaml()), " > ",
                   ShellQuote(scratch + "/spec.yaml")),
      &out);
  ASSERT_EQ(rc, 0) << out;
  rc = Sh(absl::StrCat("cd ", ShellQuote(scratch), " && env -u PYTHONPATH ",
                       "timeout 120 ", ShellQuote(venv),
                       "/bin/python -I python_package_check.py --controller ",
                       cluster.address(), " --spec spec.yaml --trials ",
                       kTrials, " --version ", NAS_PROJECT_VERSION),
          &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "all checks passed")) << out;
  std::cerr << out;
  cluster.Finish(HasFailure());
}

}  // namespace
}  // namespace nas
