// TokenAuthorizer (controller/service/auth.h) and the secrets helpers
// (common/secrets.h): roles, codes, and messages free of tokens.
#include "controller/service/auth.h"

#include <stdlib.h>

#include <fstream>

#include "absl/strings/match.h"
#include "common/secrets.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nas {
namespace {

using ::nas::testing::StatusIs;

absl::Status Check(const TokenAuthorizer& auth, const char* header, Role role) {
  if (header == nullptr) return auth.Authorize(nullptr, role);
  const absl::string_view value(header);
  return auth.Authorize(&value, role);
}

TEST(TokenAuthorizer, RolesAndCodes) {
  const TokenAuthorizer auth("ctok", "wtok");
  ASSERT_TRUE(auth.enabled());
  NAS_EXPECT_OK(Check(auth, "Bearer ctok", Role::kClient));
  NAS_EXPECT_OK(Check(auth, "Bearer wtok", Role::kWorker));
  EXPECT_THAT(Check(auth, nullptr, Role::kClient),
              StatusIs(absl::StatusCode::kUnauthenticated, "missing"));
  EXPECT_THAT(Check(auth, "ctok", Role::kClient),
              StatusIs(absl::StatusCode::kUnauthenticated, "missing"));
  EXPECT_THAT(Check(auth, "Bearer guess", Role::kWorker),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid"));
  EXPECT_THAT(Check(auth, "Bearer ctokx", Role::kClient),
              StatusIs(absl::StatusCode::kUnauthenticated, "invalid"));
  EXPECT_THAT(Check(auth, "Bearer wtok", Role::kClient),
              StatusIs(absl::StatusCode::kPermissionDenied, "worker token"));
  EXPECT_THAT(Check(auth, "Bearer ctok", Role::kWorker),
              StatusIs(absl::StatusCode::kPermissionDenied, "client token"));
  for (const char* h : {"Bearer wtok", "Bearer ctok", "Bearer guess"}) {
    for (Role r : {Role::kClient, Role::kWorker}) {
      const absl::Status s = Check(auth, h, r);
      EXPECT_FALSE(absl::StrContains(s.message(), "ctok")) << s;
      EXPECT_FALSE(absl::StrContains(s.message(), "wtok")) << s;
      EXPECT_FALSE(absl::StrContains(s.message(), "guess")) << s;
    }
  }
}

TEST(TokenAuthorizer, OpenWithoutTokensAndPerRole) {
  const TokenAuthorizer open;
  EXPECT_FALSE(open.enabled());
  NAS_EXPECT_OK(Check(open, nullptr, Role::kClient));
  NAS_EXPECT_OK(Check(open, "Bearer x", Role::kWorker));
  const TokenAuthorizer workers_only("", "wtok");
  NAS_EXPECT_OK(Check(workers_only, nullptr, Role::kClient));
  EXPECT_THAT(Check(workers_only, nullptr, Role::kWorker),
              StatusIs(absl::StatusCode::kUnauthenticated, "missing"));
}

TEST(Secrets, ReadTokenFromFileOrEnvironment) {
  const std::string path = ::testing::TempDir() + "/secrets_token";
  std::ofstream(path) << "  s3cret\n";
  auto t = ReadToken(path, "NAS_TEST_TOKEN_UNSET");
  NAS_ASSERT_OK(t);
  EXPECT_EQ(*t, "s3cret");
  std::ofstream(path) << " \n";
  EXPECT_THAT(ReadToken(path, nullptr).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "empty"));
  EXPECT_THAT(ReadToken(path + ".missing", nullptr).status(),
              StatusIs(absl::StatusCode::kNotFound, "secrets_token.missing"));
  unsetenv("NAS_TEST_TOKEN");
  t = ReadToken("", "NAS_TEST_TOKEN");
  NAS_ASSERT_OK(t);
  EXPECT_EQ(*t, "");
  setenv("NAS_TEST_TOKEN", "envtok\n", 1);
  t = ReadToken("", "NAS_TEST_TOKEN");
  NAS_ASSERT_OK(t);
  EXPECT_EQ(*t, "envtok");
  unsetenv("NAS_TEST_TOKEN");
}

TEST(Secrets, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace nas
