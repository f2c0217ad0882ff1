// common/text.h: which strings are fit to store, and their printable form.
#include "common/text.h"

#include <string>

#include "gtest/gtest.h"

namespace nas {
namespace {

std::string What(absl::string_view s, bool allow_layout = false) {
  auto issue = FindTextIssue(s, allow_layout);
  if (!issue) return "";
  return issue->what + "@" + std::to_string(issue->offset);
}

TEST(Text, FindTextIssue) {
  EXPECT_EQ(What(""), "");
  EXPECT_EQ(What("plain ascii ~!"), "");
  EXPECT_EQ(What("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"), "");
  EXPECT_EQ(What(std::string("a\0b", 3)), "a NUL character@1");
  EXPECT_EQ(What("ab\x1b[2J"), "a control character U+001B@2");
  EXPECT_EQ(What("a\tb"), "a control character U+0009@1");
  EXPECT_EQ(What("a\tb\r\n", /*allow_layout=*/true), "");
  EXPECT_EQ(What(std::string("a\n\0", 3), true), "a NUL character@2");
  EXPECT_EQ(What("x\x7f"), "a control character U+007F@1");
  EXPECT_EQ(What("x\xc2\x9b"), "a control character U+009B@1");  // C1 CSI
  EXPECT_EQ(What("x\xff"), "an invalid UTF-8 byte 0xFF@1");
  EXPECT_EQ(What("x\xc3"), "an invalid UTF-8 byte 0xC3@1");         // cut short
  EXPECT_EQ(What("\xc0\xaf"), "an invalid UTF-8 byte 0xC0@0");      // overlong
  EXPECT_EQ(What("\xed\xa0\x80"), "an invalid UTF-8 byte 0xED@0");  // surrogate
  EXPECT_EQ(What("\xf4\x90\x80\x80"), "an invalid UTF-8 byte 0xF4@0");
}

TEST(Text, PrintableEscapesControlsAndInvalidBytes) {
  EXPECT_EQ(Printable("name-1 caf\xc3\xa9"), "name-1 caf\xc3\xa9");
  EXPECT_EQ(Printable("\x1b[2J\r\nrow\t"), "\\x1b[2J\\r\\nrow\\t");
  EXPECT_EQ(Printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(Printable("\x7f\xc2\x9b"), "\\x7f\\u009b");
  EXPECT_EQ(Printable("ok\xff\xc3"), "ok\\xff\\xc3");
  EXPECT_EQ(Printable("back\\slash"), "back\\slash");
  for (int c = 0; c < 256; ++c) {  // nothing printable is a control byte
    const std::string out = Printable(std::string(1, static_cast<char>(c)));
    for (unsigned char o : out) EXPECT_TRUE(o >= 0x20 && o < 0x7f) << c;
  }
}

}  // namespace
}  // namespace nas
