// Text that users and servers hand us: whether a string is fit to store
// (valid UTF-8, no control characters) and how to show any string on a
// terminal without letting it move the cursor, clear the screen or fake
// rows. Pure functions, thread-safe.
#ifndef NAS_COMMON_TEXT_H_
#define NAS_COMMON_TEXT_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace nas {

// The first thing in a string that makes it unfit to store.
struct TextIssue {
  size_t offset = 0;  // byte offset of the offending character
  std::string what;   // "a NUL character", "a control character U+001B",
                      // "an invalid UTF-8 byte 0xFF"
};

// The first NUL, C0 control (U+0000-U+001F), DEL (U+007F), C1 control
// (U+0080-U+009F) or byte sequence that is not valid UTF-8 (overlong forms,
// surrogates and code points above U+10FFFF included) in `s`; nullopt when
// there is none. With `allow_layout`, tab, LF and CR are allowed (a YAML
// file's own line breaks and indentation).
std::optional<TextIssue> FindTextIssue(absl::string_view s,
                                       bool allow_layout = false);

// `s` safe to print: valid UTF-8 that is not a control character is kept;
// tab, LF and CR become \t, \n, \r; other control characters (C0, DEL, C1)
// become \xNN (\u00NN for C1); each byte that is not valid UTF-8 becomes
// \xNN. A backslash in `s` is kept as it is.
std::string Printable(absl::string_view s);

}  // namespace nas

#endif  // NAS_COMMON_TEXT_H_
