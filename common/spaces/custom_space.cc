#include "common/spaces/custom_space.h"

#include <cmath>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace nas {
namespace {

// Problems listed in MakeCustomSpace's error; the rest are counted.
constexpr size_t kMaxListedProblems = 5;
// Longest user text echoed in a message.
constexpr size_t kMaxEchoed = 64;

std::string Echo(absl::string_view s) {
  if (s.size() <= kMaxEchoed) return std::string(s);
  return absl::StrCat(s.substr(0, kMaxEchoed), "...");
}

bool IsDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A number as written: [+-] digits [. digits] [(e|E) [+-] digits].
struct NumberParts {
  bool negative = false;
  std::string int_digits;  // may be empty (".5")
  bool has_dot = false;
  std::string frac_digits;  // may be empty ("5.")
  std::string exponent;     // "e-3" as written, or empty
};

std::optional<NumberParts> SplitNumber(absl::string_view s) {
  NumberParts n;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    n.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  size_t e = s.find_first_of("eE");
  absl::string_view mantissa = s.substr(0, e);
  if (e != absl::string_view::npos) {
    absl::string_view exp = s.substr(e + 1);
    absl::string_view digits = exp;
    if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
      digits.remove_prefix(1);
    }
    if (!IsDigits(digits)) return std::nullopt;
    n.exponent = std::string(s.substr(e));
  }
  size_t dot = mantissa.find('.');
  n.int_digits = std::string(mantissa.substr(0, dot));
  if (dot != absl::string_view::npos) {
    n.has_dot = true;
    n.frac_digits = std::string(mantissa.substr(dot + 1));
  }
  if (!n.int_digits.empty() && !IsDigits(n.int_digits)) return std::nullopt;
  if (!n.frac_digits.empty() && !IsDigits(n.frac_digits)) return std::nullopt;
  if (n.int_digits.empty() && n.frac_digits.empty()) return std::nullopt;
  return n;
}

std::string StripLeadingZeros(const std::string& digits) {
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return "0";
  return digits.substr(first);
}

// The first problem of `s` as a choice's text, or "".
std::string TextProblem(absl::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > kMaxChoiceBytes) {
    return absl::StrCat("at most ", kMaxChoiceBytes, " bytes, got ", s.size());
  }
  if (s.front() == ' ' || s.back() == ' ') {
    return absl::StrCat("'", Echo(s), "' has leading or trailing spaces");
  }
  if (std::string p = PrintableTextProblem(s); !p.empty()) return p;
  const size_t bar = s.find_first_of("|=");
  if (bar != absl::string_view::npos) {
    return absl::StrCat("'", Echo(s), "' contains '", s.substr(bar, 1),
                        "' (it delimits the canonical string "
                        "name=choice|name=choice)");
  }
  return "";
}

bool ValidDecisionName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxDecisionName) return false;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(name[0])) &&
      name[0] != '_') {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

// "decisions[i] (name)", or "decisions[i]" when the name is unusable.
std::string DecisionPath(int i, const std::string& name) {
  if (ValidDecisionName(name)) {
    return absl::StrCat("decisions[", i, "] (", name, ")");
  }
  return absl::StrCat("decisions[", i, "]");
}

ChoiceValue::Kind KindOf(absl::string_view type) {
  if (type == kDecisionInt) return ChoiceValue::kInt;
  if (type == kDecisionFloat) return ChoiceValue::kFloat;
  return ChoiceValue::kString;
}

// True when a and b are the same value of `kind`.
bool SameValue(ChoiceValue::Kind kind, const NormalizedChoice& a,
               const NormalizedChoice& b) {
  switch (kind) {
    case ChoiceValue::kInt:
      return a.integer == b.integer;
    case ChoiceValue::kFloat:
      return a.value == b.value;
    case ChoiceValue::kString:
      return a.text == b.text;
  }
  return false;
}

void CheckDecision(const v1::SpaceDecision& d, int i,
                   std::vector<DecisionProblem>* out) {
  const std::string path = DecisionPath(i, d.name());
  if (d.choices_size() < 1 || d.choices_size() > kMaxCustomChoices) {
    out->push_back(
        {path + ".choices", absl::StrCat("needs 1 to ", kMaxCustomChoices,
                                         " choices, got ", d.choices_size())});
    return;
  }
  std::string type = d.type();
  if (type.empty()) {
    type = InferDecisionType(d);
  } else if (type != kDecisionInt && type != kDecisionFloat &&
             type != kDecisionString) {
    out->push_back({path + ".type", absl::StrCat("unknown type '", Echo(type),
                                                 "' (int, float, string)")});
    return;
  }
  const ChoiceValue::Kind kind = KindOf(type);
  std::vector<std::pair<int, NormalizedChoice>> seen;
  for (int c = 0; c < d.choices_size(); ++c) {
    const std::string cpath = absl::StrCat(path, ".choices[", c, "]");
    const std::string& text = d.choices(c);
    std::string problem = TextProblem(text);
    if (!problem.empty()) {
      out->push_back({cpath, std::move(problem)});
      continue;
    }
    std::optional<NormalizedChoice> n = NormalizeChoice(text, type);
    if (!n.has_value()) {
      out->push_back(
          {cpath, absl::StrCat("'", Echo(text), "' does not read as ",
                               type == kDecisionInt ? "an int" : "a float",
                               " (the decision's type is ", type, ")")});
      continue;
    }
    for (const auto& [k, earlier] : seen) {
      if (SameValue(kind, earlier, *n)) {
        out->push_back({cpath, absl::StrCat("'", Echo(text), "' is the same ",
                                            type, " as ", "choices[", k, "] ('",
                                            Echo(d.choices(k)), "')")});
        break;
      }
    }
    seen.emplace_back(c, std::move(*n));
  }
}

}  // namespace

std::string PrintableTextProblem(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) {
        return absl::StrCat("control character (byte ", static_cast<int>(c),
                            ") at byte ", i);
      }
      ++i;
      continue;
    }
    // UTF-8: the sequence's length, then its code point.
    const int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (len == 0 || c > 0xf4 || i + len > s.size()) {
      return absl::StrCat("not valid UTF-8 at byte ", i);
    }
    uint32_t cp = c & (0x7f >> len);
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) {
        return absl::StrCat("not valid UTF-8 at byte ", i);
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return absl::StrCat("not valid UTF-8 at byte ", i);
    }
    if (cp <= 0x9f) {
      return absl::StrCat("control character (U+00",
                          absl::Hex(cp, absl::kZeroPad2), ") at byte ", i);
    }
    i += len;
  }
  return "";
}

std::optional<NormalizedChoice> NormalizeChoice(absl::string_view choice,
                                                absl::string_view type) {
  NormalizedChoice out;
  if (type == kDecisionString) {
    out.text = std::string(choice);
    return out;
  }
  std::optional<NumberParts> n = SplitNumber(choice);
  if (!n.has_value()) return std::nullopt;
  if (type == kDecisionInt) {
    if (n->has_dot || !n->exponent.empty() || n->int_digits.empty()) {
      return std::nullopt;
    }
    const std::string digits = StripLeadingZeros(n->int_digits);
    int64_t v = 0;
    if (!absl::SimpleAtoi(absl::StrCat(n->negative ? "-" : "", digits), &v)) {
      return std::nullopt;  // out of int64
    }
    out.integer = v;
    out.value = static_cast<double>(v);
    out.text = absl::StrCat(v);
    return out;
  }
  if (type != kDecisionFloat) return std::nullopt;
  std::string text = n->negative ? "-" : "";
  absl::StrAppend(&text, StripLeadingZeros(n->int_digits));
  if (n->has_dot) {
    absl::StrAppend(&text, ".", n->frac_digits.empty() ? "0" : n->frac_digits);
  }
  absl::StrAppend(&text, n->exponent);
  double v = 0;
  if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) return std::nullopt;
  out.text = std::move(text);
  out.value = v;
  return out;
}

std::string InferDecisionType(const v1::SpaceDecision& decision) {
  if (decision.choices().empty()) return std::string(kDecisionString);
  bool ints = true, floats = true;
  for (const std::string& c : decision.choices()) {
    if (ints && !NormalizeChoice(c, kDecisionInt).has_value()) ints = false;
    if (floats && !NormalizeChoice(c, kDecisionFloat).has_value()) {
      floats = false;
    }
  }
  if (ints) return std::string(kDecisionInt);
  if (floats) return std::string(kDecisionFloat);
  return std::string(kDecisionString);
}

std::vector<DecisionProblem> CheckCustomDecisions(
    const v1::SearchSpaceSpec& spec) {
  std::vector<DecisionProblem> out;
  const int n = spec.decisions_size();
  if (n < 1 || n > kMaxCustomDecisions) {
    out.push_back({"decisions",
                   absl::StrCat("a custom space needs 1 to ",
                                kMaxCustomDecisions, " decisions, got ", n)});
    return out;
  }
  std::map<std::string, int> names;
  for (int i = 0; i < n; ++i) {
    const v1::SpaceDecision& d = spec.decisions(i);
    const std::string npath = absl::StrCat("decisions[", i, "].name");
    if (d.name().empty()) {
      out.push_back({npath, "required"});
    } else if (!ValidDecisionName(d.name())) {
      out.push_back(
          {npath, absl::StrCat("'", Echo(d.name()),
                               "' must be a letter or '_' then letters, "
                               "digits or '_', at most ",
                               kMaxDecisionName, " characters")});
    } else if (auto [it, fresh] = names.emplace(d.name(), i); !fresh) {
      out.push_back({npath, absl::StrCat("'", d.name(),
                                         "' repeats the name of decisions[",
                                         it->second, "]")});
    }
    CheckDecision(d, i, &out);
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const CustomSpace>> CustomSpace::Make(
    const v1::SearchSpaceSpec& spec) {
  std::vector<DecisionProblem> problems = CheckCustomDecisions(spec);
  if (!problems.empty()) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < problems.size() && i < kMaxListedProblems; ++i) {
      parts.push_back(absl::StrCat("search_space.", problems[i].path, ": ",
                                   problems[i].message));
    }
    if (problems.size() > kMaxListedProblems) {
      parts.push_back(absl::StrCat(
          "... and ", problems.size() - kMaxListedProblems, " more problems"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(parts, "; "));
  }
  std::vector<Decision> decisions;
  for (const v1::SpaceDecision& d : spec.decisions()) {
    Decision out;
    out.name = d.name();
    const std::string type = d.type().empty() ? InferDecisionType(d) : d.type();
    out.kind = KindOf(type);
    for (const std::string& c : d.choices()) {
      out.choices.push_back(*NormalizeChoice(c, type));  // checked above
    }
    decisions.push_back(std::move(out));
  }
  return std::shared_ptr<const CustomSpace>(
      new CustomSpace(std::move(decisions)));
}

absl::StatusOr<std::string> CustomSpace::Canonical(
    const std::vector<int>& choices) const {
  if (choices.size() != decisions_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("custom genotype needs ", decisions_.size(),
                     " choices, got ", choices.size()));
  }
  std::string out;
  for (size_t i = 0; i < decisions_.size(); ++i) {
    const Decision& d = decisions_[i];
    if (choices[i] < 0 || choices[i] >= static_cast<int>(d.choices.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("custom choice ", i, " (", d.name, ") out of range [0, ",
                       d.choices.size(), "): ", choices[i]));
    }
    absl::StrAppend(&out, i == 0 ? "" : "|", d.name, "=",
                    d.choices[choices[i]].text);
  }
  return out;
}

absl::StatusOr<std::vector<int>> CustomSpace::Parse(absl::string_view s) const {
  std::vector<absl::string_view> tokens = absl::StrSplit(s, '|');
  if (tokens.size() != decisions_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "custom genotype '", Echo(s), "' needs ", decisions_.size(),
        " tokens name=choice separated by '|', got ", tokens.size()));
  }
  std::vector<int> choices;
  for (size_t i = 0; i < decisions_.size(); ++i) {
    const Decision& d = decisions_[i];
    const absl::string_view token = tokens[i];
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(token, absl::MaxSplits('=', 1));
    if (kv.first != d.name || token.find('=') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("custom genotype token ", i + 1, " '", Echo(token),
                       "' must be ", d.name, "=<choice> (decision ", i, ")"));
    }
    const absl::string_view type = d.kind == ChoiceValue::kInt ? kDecisionInt
                                   : d.kind == ChoiceValue::kFloat
                                       ? kDecisionFloat
                                       : kDecisionString;
    std::optional<NormalizedChoice> value = NormalizeChoice(kv.second, type);
    int found = -1;
    for (size_t c = 0; value.has_value() && c < d.choices.size(); ++c) {
      if (SameValue(d.kind, d.choices[c], *value)) found = static_cast<int>(c);
    }
    if (found < 0) {
      std::vector<std::string> known;
      for (const NormalizedChoice& c : d.choices) known.push_back(c.text);
      return absl::InvalidArgumentError(
          absl::StrCat("custom genotype token ", i + 1, " '", Echo(token),
                       "': not a choice of decision ", d.name, " (",
                       Echo(absl::StrJoin(known, ", ")), ")"));
    }
    choices.push_back(found);
  }
  return choices;
}

absl::StatusOr<Cost> CustomSpace::ComputeCost(const std::vector<int>& choices,
                                              const v1::SearchSpaceSpec&,
                                              const InputShape&) const {
  absl::StatusOr<std::string> canonical = Canonical(choices);
  if (!canonical.ok()) return canonical.status();
  return Cost{};
}

std::string CustomSpace::DecisionName(int decision) const {
  return decisions_[decision].name;
}

ChoiceValue CustomSpace::Choice(int decision, int choice) const {
  const Decision& d = decisions_[decision];
  return {d.kind, d.choices[choice].text};
}

}  // namespace nas
