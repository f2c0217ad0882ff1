// A test-suite base class owning a throw-away PostgreSQL 15 server and a
// Store over it with every migration applied, shared by the suite's tests
// (started once in SetUpTestSuite, stopped in TearDownTestSuite). For the
// controller's integration tests (store_test, command_mode_test).
#ifndef NAS_TESTS_CONTROLLER_MIGRATED_STORE_SUITE_H_
#define NAS_TESTS_CONTROLLER_MIGRATED_STORE_SUITE_H_

#include "controller/store/store.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_server.h"

namespace nas {

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
