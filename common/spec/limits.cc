#include "common/spec/limits.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/spec/validate.h"
#include "common/text.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace nas {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kRequiredLabels[] = "nas.v1.ExperimentSpec.required_labels";

// Longest map key echoed in a field path.
constexpr size_t kMaxEchoedKey = 64;

class LimitWalker {
 public:
  explicit LimitWalker(FieldErrorList* errors) : errors_(errors) {}

  void Walk(const Message& msg, const std::string& path) {
    const Reflection* refl = msg.GetReflection();
    const Descriptor* desc = msg.GetDescriptor();
    for (int i = 0; i < desc->field_count() && !Full(); ++i) {
      const FieldDescriptor* fd = desc->field(i);
      const std::string field_path = absl::StrCat(path, ".", fd->name());
      if (!fd->is_repeated()) {
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          if (refl->HasField(msg, fd)) {
            Walk(refl->GetMessage(msg, fd), field_path);
          }
        } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
          CheckString(field_path, refl->GetString(msg, fd), kMaxSpecStringBytes,
                      IsText(fd));
        }
        continue;
      }
      const int n = refl->FieldSize(msg, fd);
      const bool labels = fd->full_name() == kRequiredLabels;
      const int max = MaxSpecListEntries(fd);
      if (n > max) {
        errors_->Add(field_path,
                     absl::StrCat("at most ", max, " ",
                                  labels ? "labels" : "entries", ", got ", n));
        continue;  // the entries are not looked at one by one
      }
      for (int j = 0; j < n && !Full(); ++j) {
        if (fd->is_map()) {
          CheckMapEntry(refl->GetRepeatedMessage(msg, fd, j), field_path,
                        labels);
        } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          Walk(refl->GetRepeatedMessage(msg, fd, j),
               absl::StrCat(field_path, "[", j, "]"));
        } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
          CheckString(absl::StrCat(field_path, "[", j, "]"),
                      refl->GetRepeatedString(msg, fd, j), kMaxSpecStringBytes);
        }
      }
    }
  }

 private:
  bool Full() const { return errors_->errors().size() > kMaxListedErrors; }

  // A `bytes` field holds data, not text: only its size is checked.
  static bool IsText(const FieldDescriptor* fd) {
    return fd->type() == FieldDescriptor::TYPE_STRING;
  }

  // Adds an error when `s` is longer than `max` bytes or, when `text`, is
  // unfit text.
  void CheckString(const std::string& path, const std::string& s, size_t max,
                   bool text = true) {
    if (s.size() > max) {
      errors_->Add(path,
                   absl::StrCat("at most ", max, " bytes, got ", s.size()));
      return;
    }
    if (!text) return;
    if (auto issue = FindTextIssue(s)) {
      errors_->Add(
          path, absl::StrCat("contains ", issue->what, " at byte ",
                             issue->offset, " (text must be printable UTF-8)"));
    }
  }

  // A map entry: the key is checked as text (as a label key for
  // required_labels), its value as a string or a message.
  void CheckMapEntry(const Message& entry, const std::string& path,
                     bool labels) {
    const Descriptor* ed = entry.GetDescriptor();
    const Reflection* refl = entry.GetReflection();
    const FieldDescriptor* key_fd = ed->FindFieldByName("key");
    const FieldDescriptor* value_fd = ed->FindFieldByName("value");
    std::string key;
    if (key_fd->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      key = refl->GetString(entry, key_fd);
    }
    const std::string entry_path =
        absl::StrCat(path, "[\"", Printable(key.substr(0, kMaxEchoedKey)),
                     key.size() > kMaxEchoedKey ? "..." : "", "\"]");
    if (labels) {
      if (key.empty() || key.size() > kMaxRequiredLabelKeyBytes) {
        errors_->Add(entry_path, absl::StrCat("label names must be 1 to ",
                                              kMaxRequiredLabelKeyBytes,
                                              " bytes, got ", key.size()));
      } else if (!LabelKeyCharactersValid(key)) {
        errors_->Add(entry_path,
                     "label names may only contain letters, digits and "
                     "_ - . /");
      }
      CheckString(entry_path, refl->GetString(entry, value_fd),
                  kMaxRequiredLabelValueBytes);
      return;
    }
    if (key_fd->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      CheckString(absl::StrCat(path, " (a key)"), key, kMaxSpecStringBytes);
    }
    if (value_fd->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      CheckString(entry_path, refl->GetString(entry, value_fd),
                  kMaxSpecStringBytes);
    } else if (value_fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Walk(refl->GetMessage(entry, value_fd), entry_path);
    }
  }

  FieldErrorList* errors_;
};

}  // namespace

int MaxSpecListEntries(const FieldDescriptor* field) {
  const std::string& name = field->full_name();
  if (name == kRequiredLabels) return kMaxRequiredLabels;
  if (name == "nas.v1.DataSpec.class_names" ||
      name == "nas.v1.EvaluationSpec.class_weights") {
    return kMaxDataClasses;
  }
  return kMaxSpecListEntries;
}

bool LabelKeyCharactersValid(absl::string_view key) {
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                    c == '.' || c == '/';
    if (!ok) return false;
  }
  return true;
}

void CheckSpecLimits(const v1::ExperimentSpec& spec, FieldErrorList* errors) {
  const size_t bytes = spec.ByteSizeLong();
  if (bytes > kMaxSpecProtoBytes) {
    errors->Add("spec", absl::StrCat("the spec is ", bytes,
                                     " bytes serialized, more than the ",
                                     kMaxSpecProtoBytes, " allowed"));
  }
  LimitWalker(errors).Walk(spec, "spec");
}

}  // namespace nas
