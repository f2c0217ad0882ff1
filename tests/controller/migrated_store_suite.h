// A test-suite base class owning a throw-away PostgreSQL 15 server and a
// Store over it with every migration applied, shared by the suite's tests
// (started once in SetUpTestSuite, stopped in TearDownTestSuite). For the
// controller's integration tests (store_test, command_mode_test).
#ifndef NAS_TESTS_CONTROLLER_MIGRATED_STORE_SUITE_H_
#define NAS_TESTS_CONTROLLER_MIGRATED_STORE_SUITE_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "controller/store/store.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_server.h"

namespace nas {

// A QUEUED nb201 proposal numbered `i`: canonical "|op<i>~0|", choices
// (i + k) % 5 and hash "hash<i>", distinct for every i (the store does not
// parse them). Tests set the costs and strategy fields they need.
inline NewCandidate QueuedTestCandidate(int i) {
  NewCandidate c;
  c.genotype.set_space("nb201");
  c.genotype.set_canonical(absl::StrCat("|op", i, "~0|"));
  for (int k = 0; k < 6; ++k) c.genotype.add_choices((i + k) % 5);
  c.genotype.set_hash(absl::StrCat("hash", i));
  c.state = v1::CANDIDATE_QUEUED;
  return c;
}

class MigratedStoreSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = testing::PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    auto store = Store::Open({server_->conninfo(), 4});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = store->release();
    auto applied = store_->Migrate(NAS_SOURCE_DIR "/migrations");
    ASSERT_TRUE(applied.ok()) << applied.status();
  }
  static void TearDownTestSuite() {
    delete store_;
    store_ = nullptr;
    delete server_;
    server_ = nullptr;
  }

  static inline testing::PostgresServer* server_ = nullptr;
  static inline Store* store_ = nullptr;
};

}  // namespace nas

#endif  // NAS_TESTS_CONTROLLER_MIGRATED_STORE_SUITE_H_
