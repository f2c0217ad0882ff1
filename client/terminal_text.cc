#include "client/terminal_text.h"

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

}  // namespace nas
