#include "client/terminal_text.h"

#include <algorithm>
#include <string>

#include "common/text.h"
#include "google/protobuf/descriptor.h"

namespace nas {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void MakePrintable(Message* m) {
  const Reflection* refl = m->GetReflection();
  const google::protobuf::Descriptor* desc = m->GetDescriptor();
  for (int i = 0; i < desc->field_count(); ++i) {
    const FieldDescriptor* fd = desc->field(i);
    if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (fd->is_repeated()) {  // maps too: their entries are messages
        for (int j = 0; j < refl->FieldSize(*m, fd); ++j) {
          MakePrintable(refl->MutableRepeatedMessage(m, fd, j));
        }
      } else if (refl->HasField(*m, fd)) {
        MakePrintable(refl->MutableMessage(m, fd));
      }
      continue;
    }
    if (fd->type() != FieldDescriptor::TYPE_STRING) continue;
    if (fd->is_repeated()) {
      for (int j = 0; j < refl->FieldSize(*m, fd); ++j) {
        const std::string s = refl->GetRepeatedString(*m, fd, j);
        const std::string p = Printable(s);
        if (p != s) refl->SetRepeatedString(m, fd, j, p);
      }
    } else {
      const std::string s = refl->GetString(*m, fd);
      const std::string p = Printable(s);
      if (p != s) refl->SetString(m, fd, p);
    }
  }
}

std::string FitWidth(const std::string& text, int width) {
  // Columns: one per UTF-8 sequence (continuation bytes take none).
  auto columns = [](const std::string& s) {
    int n = 0;
    for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
    return n;
  };
  if (columns(text) <= width) return text;
  if (width <= 3) return std::string(std::max(width, 0), '.');
  std::string out;
  int n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char ch = text[i];
    if ((ch & 0xC0) != 0x80 && ++n > width - 3) break;
    out.push_back(text[i]);
  }
  return out + "...";
}

}  // namespace nas
