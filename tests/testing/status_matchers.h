// StatusIs(code, substring): a gMock matcher for absl::Status and StatusOr.
#ifndef NAS_TESTS_TESTING_STATUS_MATCHERS_H_
#define NAS_TESTS_TESTING_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace nas::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER_P2(StatusIs, code, substring,
           std::string("status code ") + absl::StatusCodeToString(code) +
               " with message containing \"" + std::string(substring) + "\"") {
  const absl::Status& s = ::nas::testing::GetStatus(arg);
  *result_listener << "got " << s;
  return s.code() == code &&
         s.message().find(std::string(substring)) != std::string::npos;
}

#define NAS_ASSERT_OK(expr) \
  ASSERT_TRUE((expr).ok()) << ::nas::testing::GetStatus(expr)
#define NAS_EXPECT_OK(expr) \
  EXPECT_TRUE((expr).ok()) << ::nas::testing::GetStatus(expr)

}  // namespace nas::testing

#endif  // NAS_TESTS_TESTING_STATUS_MATCHERS_H_
