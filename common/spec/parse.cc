#include "common/spec/parse.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/spec/field_errors.h"
#include "common/spec/limits.h"
#include "common/text.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace nas {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Longest user text (a value, a key) echoed in an error message.
constexpr size_t kMaxEchoed = 64;

// `s` for an error message: cut to kMaxEchoed bytes ("..." marks the cut),
// control characters and invalid UTF-8 escaped.
std::string Echo(absl::string_view s) {
  if (s.size() <= kMaxEchoed) return Printable(s);
  return absl::StrCat(Printable(s.substr(0, kMaxEchoed)), "...");
}

// Thrown (and caught in ParseSpecYaml, as yaml-cpp's own exceptions are)
// when the walk has visited more than kMaxSpecYamlNodes nodes or
// kMaxSpecYamlScalarBytes bytes of scalars: the recursive walk stops at
// once, without a check at every level.
struct TooManyNodes {
  int line;
  std::string what;
};

// Fills a message from a YAML mapping by reflection, collecting the errors.
class YamlToProto {
 public:
  explicit YamlToProto(ParsedSpec* out) : out_(out) {}

  void FillMessage(const YAML::Node& node, Message* msg,
                   const std::string& path) {
    if (!node.IsMap()) {
      Error(path, node, "expected a mapping of fields");
      return;
    }
    const Descriptor* desc = msg->GetDescriptor();
    std::map<std::string, int> seen;  // key -> line
    for (const auto& kv : node) {
      Visit(kv.first);
      const std::string key = kv.first.as<std::string>();
      const std::string field_path = path + "." + Echo(key);
      if (!FirstTime(&seen, key, kv.first, field_path)) continue;
      out_->lines[field_path] = kv.first.Mark().line + 1;
      const FieldDescriptor* fd = desc->FindFieldByName(key);
      if (fd == nullptr) {
        if (Full()) {  // listing the known fields again costs for nothing
          ++unlisted;
          continue;
        }
        std::vector<std::string> known;
        for (int i = 0; i < desc->field_count(); ++i) {
          known.push_back(desc->field(i)->name());
        }
        Error(field_path, kv.first,
              absl::StrCat("unknown field (known: ", absl::StrJoin(known, ", "),
                           ")"));
        continue;
      }
      FillField(kv.second, msg, fd, field_path);
    }
  }

  std::vector<FieldError> errors;  // the first kMaxListedErrors
  size_t unlisted = 0;             // errors beyond those

 private:
  bool Full() const { return errors.size() >= kMaxListedErrors; }

  // Counts one node visit; an alias counts each time the walk reaches it,
  // so a fan-out of aliases is refused before it is expanded.
  void Visit(const YAML::Node& node) {
    if (++visited_ > kMaxSpecYamlNodes) {
      throw TooManyNodes{
          node.Mark().line + 1,
          absl::StrCat("more than ", kMaxSpecYamlNodes, " YAML nodes")};
    }
    if (node.IsScalar() &&
        (scalar_bytes_ += node.Scalar().size()) > kMaxSpecYamlScalarBytes) {
      throw TooManyNodes{node.Mark().line + 1,
                         absl::StrCat("more than ", kMaxSpecYamlScalarBytes,
                                      " bytes of YAML values")};
    }
  }
  // False (and an error) when `key` was already a key of this mapping:
  // YAML would silently keep the last value.
  bool FirstTime(std::map<std::string, int>* seen, const std::string& key,
                 const YAML::Node& key_node, const std::string& path) {
    const int line = key_node.Mark().line + 1;
    auto [it, inserted] = seen->emplace(key, line);
    if (inserted) return true;
    Error(path, key_node,
          absl::StrCat("duplicate key '", Echo(key), "' (lines ", it->second,
                       " and ", line, ")"));
    return false;
  }

  // False (and an error) when the list or map `node` has more entries than
  // the field `fd` may hold.
  bool ListFits(const YAML::Node& node, const FieldDescriptor* fd,
                const std::string& path) {
    const size_t max = MaxSpecListEntries(fd);
    if (node.size() <= max) return true;
    Error(path, node,
          absl::StrCat("at most ", max, " entries, got ", node.size()));
    return false;
  }

  void Error(const std::string& path, const YAML::Node& node,
             const std::string& message) {
    if (Full()) {
      ++unlisted;
      return;
    }
    errors.push_back({path, message, node.Mark().line + 1});
  }

  void FillField(const YAML::Node& node, Message* msg,
                 const FieldDescriptor* fd, const std::string& path) {
    const Reflection* refl = msg->GetReflection();
    Visit(node);
    if (node.IsNull()) return;  // "key:" with no value = unset
    if (fd->is_map()) {
      if (!node.IsMap()) {
        Error(path, node, "expected a mapping of key: value");
        return;
      }
      if (!ListFits(node, fd, path)) return;
      std::map<std::string, int> seen;  // key -> line
      for (const auto& kv : node) {
        Visit(kv.first);
        Visit(kv.second);
        if (!FirstTime(&seen, kv.first.as<std::string>(), kv.first,
                       path + "." + Echo(kv.first.as<std::string>()))) {
          continue;
        }
        if (!kv.second.IsScalar()) {
          Error(path + "." + Echo(kv.first.as<std::string>()), kv.second,
                "expected a scalar value");
          continue;
        }
        Message* entry = refl->AddMessage(msg, fd);
        const Descriptor* ed = entry->GetDescriptor();
        entry->GetReflection()->SetString(entry, ed->FindFieldByName("key"),
                                          kv.first.as<std::string>());
        entry->GetReflection()->SetString(entry, ed->FindFieldByName("value"),
                                          kv.second.as<std::string>());
      }
      return;
    }
    if (fd->is_repeated()) {
      if (!node.IsSequence()) {
        Error(path, node, "expected a list");
        return;
      }
      if (!ListFits(node, fd, path)) return;
      for (size_t i = 0; i < node.size(); ++i) {
        Visit(node[i]);
        const std::string item_path = absl::StrCat(path, "[", i, "]");
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          FillMessage(node[i], refl->AddMessage(msg, fd), item_path);
        } else {
          SetScalar(node[i], msg, fd, item_path);
        }
      }
      return;
    }
    if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      FillMessage(node, refl->MutableMessage(msg, fd), path);
      return;
    }
    SetScalar(node, msg, fd, path);
  }

  void SetScalar(const YAML::Node& node, Message* msg,
                 const FieldDescriptor* fd, const std::string& path) {
    const Reflection* refl = msg->GetReflection();
    if (!node.IsScalar()) {
      Error(path, node, "expected a single value");
      return;
    }
    const std::string s = node.Scalar();
    const bool rep = fd->is_repeated();
    auto bad = [&](const char* what) {
      Error(path, node,
            absl::StrCat("expected ", what, ", got '", Echo(s), "'"));
    };
    switch (fd->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t v;
        if (!absl::SimpleAtoi(s, &v)) return bad("an integer");
        rep ? refl->AddInt32(msg, fd, v) : refl->SetInt32(msg, fd, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v;
        if (!absl::SimpleAtoi(s, &v)) return bad("an integer");
        rep ? refl->AddInt64(msg, fd, v) : refl->SetInt64(msg, fd, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v;
        if (!absl::SimpleAtoi(s, &v)) return bad("a non-negative integer");
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
          rep ? refl->AddUInt32(msg, fd, v) : refl->SetUInt32(msg, fd, v);
        } else {
          rep ? refl->AddUInt64(msg, fd, v) : refl->SetUInt64(msg, fd, v);
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double v;
        if (!absl::SimpleAtod(s, &v) || !std::isfinite(v)) {
          return bad("a finite number");
        }
        if (fd->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
          rep ? refl->AddDouble(msg, fd, v) : refl->SetDouble(msg, fd, v);
        } else {
          rep ? refl->AddFloat(msg, fd, v) : refl->SetFloat(msg, fd, v);
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool v;
        if (!absl::SimpleAtob(s, &v)) return bad("true or false");
        rep ? refl->AddBool(msg, fd, v) : refl->SetBool(msg, fd, v);
        return;
      }
      case FieldDescriptor::CPPTYPE_STRING:
        rep ? refl->AddString(msg, fd, s) : refl->SetString(msg, fd, s);
        return;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumValueDescriptor* v =
            fd->enum_type()->FindValueByName(absl::AsciiStrToUpper(s));
        if (v == nullptr || v->number() == 0) {
          std::vector<std::string> names;
          for (int i = 1; i < fd->enum_type()->value_count(); ++i) {
            names.push_back(fd->enum_type()->value(i)->name());
          }
          Error(path, node,
                absl::StrCat("unknown value '", Echo(s),
                             "' (one of: ", absl::StrJoin(names, ", "), ")"));
          return;
        }
        rep ? refl->AddEnum(msg, fd, v) : refl->SetEnum(msg, fd, v);
        return;
      }
      default:
        Error(path, node, "unsupported field type");
    }
  }

  ParsedSpec* out_;
  size_t visited_ = 0;
  size_t scalar_bytes_ = 0;
};

}  // namespace

absl::StatusOr<ParsedSpec> ParseSpecYaml(absl::string_view yaml) {
  if (yaml.size() > kMaxSpecYamlBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec_yaml: ", yaml.size(), " bytes, more than the ",
                     kMaxSpecYamlBytes, " allowed"));
  }
  if (auto issue = FindTextIssue(yaml, /*allow_layout=*/true)) {
    const absl::string_view before = yaml.substr(0, issue->offset);
    const size_t line = std::count(before.begin(), before.end(), '\n') + 1;
    return absl::InvalidArgumentError(
        absl::StrCat("spec_yaml: line ", line, ": contains ", issue->what,
                     " (a spec must be printable UTF-8 text)"));
  }
  ParsedSpec out;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec_yaml: malformed YAML at line ", e.mark.line + 1,
                     ", column ", e.mark.column + 1, ": ", e.msg));
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        "spec_yaml: the spec must be a YAML mapping of fields (name, "
        "search_space, strategy, budget, evaluation, ...)");
  }
  YamlToProto converter(&out);
  try {
    converter.FillMessage(root, &out.spec, "spec");
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec_yaml: line ", e.mark.line + 1, ": ", e.msg));
  } catch (const TooManyNodes& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec_yaml: line ", e.line, ": ", e.what,
                     " once aliases are expanded (each use of an alias "
                     "counts its whole value again)"));
  }
  if (!converter.errors.empty()) {
    absl::Status s = ErrorsToStatus(converter.errors);
    if (converter.unlisted == 0) return s;
    return absl::InvalidArgumentError(absl::StrCat(
        s.message(), "; ... and ", converter.unlisted, " more errors"));
  }
  return out;
}

}  // namespace nas
