// Server text made safe for a terminal before nasctl prints it: every
// string a response holds (names, labels, reasons, errors, genotypes,
// metric names) goes through common/text.h's Printable, so an ESC, CR or LF
// stored by someone else cannot clear the screen, move the cursor or fake
// table rows. Pure functions, thread-safe.
#ifndef NAS_CLIENT_TERMINAL_TEXT_H_
#define NAS_CLIENT_TERMINAL_TEXT_H_

#include <string>

#include "google/protobuf/message.h"

namespace nas {

// Replaces, in place, every `string` field of `m` and of the messages it
// holds (repeated fields and map keys and values included) with its
// Printable form. `bytes` fields are left as they are. Strings that are
// printable UTF-8 already (every well-behaved one) do not change.
void MakePrintable(google::protobuf::Message* m);

// `text` cut to at most `width` columns, "..." marking the cut (one column
// per UTF-8 sequence; `text` is expected printable already).
std::string FitWidth(const std::string& text, int width);

}  // namespace nas

#endif  // NAS_CLIENT_TERMINAL_TEXT_H_
