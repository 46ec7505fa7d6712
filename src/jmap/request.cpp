// RFC 8620 3.3 (the Request object), 3.6.1 (request-level errors), 3.7 (result references).
#include "src/jmap/request.h"

#include <boost/json.hpp>

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

RequestError error(std::string_view type, std::string detail, std::string limit = {}) {
  return RequestError{std::string(kErrorPrefix) + std::string(type), std::move(detail),
                      std::move(limit)};
}

// RFC 6901 reference tokens: "~1" is '/', "~0" is '~'; any other '~' is malformed.
bool unescape_token(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '~') {
      out += in[i];
      continue;
    }
    if (i + 1 >= in.size()) return false;
    if (in[i + 1] == '0')
      out += '~';
    else if (in[i + 1] == '1')
      out += '/';
    else
      return false;
    ++i;
  }
  return true;
}

// Evaluates tokens[at..] against `v` (RFC 8620 3.7: '*' maps over an array, and arrays of
// arrays are flattened). nullopt when the path selects nothing.
std::optional<json::value> evaluate(const json::value& v, const std::vector<std::string>& tokens,
                                    size_t at, int depth) {
  if (depth > 64) return std::nullopt;
  if (at == tokens.size()) return v;
  const std::string& t = tokens[at];
  if (v.is_array()) {
    const auto& arr = v.as_array();
    if (t == "*") {
      json::array out;
      for (const auto& item : arr) {
        auto r = evaluate(item, tokens, at + 1, depth + 1);
        if (!r) return std::nullopt;
        if (r->is_array()) {
          for (auto& x : r->as_array()) out.push_back(std::move(x));
        } else {
          out.push_back(std::move(*r));
        }
      }
      return json::value(std::move(out));
    }
    // RFC 6901 4: an array index is "0" or digits without a leading zero.
    if (t.empty() || t.size() > 9 || (t.size() > 1 && t[0] == '0')) return std::nullopt;
    size_t idx = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return std::nullopt;
      idx = idx * 10 + static_cast<size_t>(c - '0');
    }
    if (idx >= arr.size()) return std::nullopt;
    return evaluate(arr[idx], tokens, at + 1, depth + 1);
  }
  if (v.is_object()) {
    const auto* found = v.as_object().if_contains(t);
    if (!found) return std::nullopt;
    return evaluate(*found, tokens, at + 1, depth + 1);
  }
  return std::nullopt;
}

}  // namespace

std::optional<RequestError> parse_request(std::string_view body, const RequestLimits& limits,
                                          ApiRequest& out) {
  if (body.size() > limits.max_size_request) {
    return error("limit", "the request is larger than maxSizeRequest", "maxSizeRequest");
  }
  json::parse_options popt;
  popt.max_depth = limits.max_depth;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, {}, popt);
  if (ec) return error("notJSON", "the body is not valid JSON: " + ec.message());
  if (!v.is_object()) return error("notRequest", "the request must be a JSON object");
  auto& obj = v.as_object();
  const auto* using_v = obj.if_contains("using");
  const auto* calls_v = obj.if_contains("methodCalls");
  if (!using_v || !using_v->is_array()) return error("notRequest", "\"using\" must be an array");
  if (!calls_v || !calls_v->is_array())
    return error("notRequest", "\"methodCalls\" must be an array");
  for (const auto& u : using_v->as_array()) {
    if (!u.is_string()) return error("notRequest", "\"using\" must hold strings");
    out.using_capabilities.emplace_back(u.as_string());
  }
  const auto& calls = calls_v->as_array();
  if (calls.size() > limits.max_calls_in_request) {
    return error("limit", "more method calls than maxCallsInRequest", "maxCallsInRequest");
  }
  for (const auto& c : calls) {
    // Invocation: [String name, String[*] arguments, String methodCallId] (RFC 8620 3.2).
    if (!c.is_array() || c.as_array().size() != 3)
      return error("notRequest", "an invocation must be an array of 3 elements");
    const auto& a = c.as_array();
    if (!a[0].is_string() || !a[1].is_object() || !a[2].is_string())
      return error("notRequest", "an invocation is [name, arguments object, call id]");
    Call call;
    call.name = std::string(a[0].as_string());
    call.args = std::make_shared<json::object>(a[1].as_object());
    call.id = std::string(a[2].as_string());
    out.calls.push_back(std::move(call));
  }
  if (const auto* ids = obj.if_contains("createdIds")) {
    if (!ids->is_object()) return error("notRequest", "\"createdIds\" must be an object");
    out.has_created_ids = true;
    for (const auto& kv : ids->as_object()) {
      if (!kv.value().is_string()) return error("notRequest", "\"createdIds\" maps ids to ids");
      out.created_ids[std::string(kv.key())] = std::string(kv.value().as_string());
    }
  }
  return std::nullopt;
}

bool resolve_references(json::object& args, const std::vector<Reply>& replies,
                        std::string& error_type, std::string& description) {
  std::vector<std::string> keys;
  for (const auto& kv : args) {
    if (!kv.key().empty() && kv.key()[0] == '#') keys.emplace_back(kv.key());
  }
  for (const auto& key : keys) {
    std::string plain = key.substr(1);
    // "##x" would resolve to an argument "#x" that reads as a reference again; no method
    // has such an argument (RFC 8620 3.7 strips one '#'), so it is refused here.
    if (plain.empty() || plain[0] == '#') {
      error_type = "invalidArguments";
      description = "\"" + key + "\" names no argument";
      return false;
    }
    if (args.contains(plain)) {
      error_type = "invalidArguments";
      description = "both \"" + plain + "\" and \"" + key + "\" are given";
      return false;
    }
    const json::value& ref = args.at(key);
    const json::object* r = ref.if_object();
    const json::value* of = r ? r->if_contains("resultOf") : nullptr;
    const json::value* name = r ? r->if_contains("name") : nullptr;
    const json::value* path = r ? r->if_contains("path") : nullptr;
    if (!of || !of->is_string() || !name || !name->is_string() || !path || !path->is_string()) {
      error_type = "invalidArguments";
      description = "\"" + key + "\" is not a ResultReference {resultOf, name, path}";
      return false;
    }
    const Reply* found = nullptr;
    for (const auto& rep : replies) {
      if (rep.id == of->as_string()) {
        found = &rep;
        break;
      }
    }
    if (!found || found->name != name->as_string() || !found->args) {
      error_type = "invalidResultReference";
      description = "no earlier response \"" + std::string(name->as_string()) + "\" to call \"" +
                    std::string(of->as_string()) + "\"";
      return false;
    }
    std::string_view p = path->as_string();
    std::vector<std::string> tokens;
    bool ok = p.empty() || p[0] == '/';
    if (ok && !p.empty()) {
      size_t start = 1;
      while (ok) {
        size_t slash = p.find('/', start);
        std::string token;
        ok = unescape_token(
            p.substr(start, slash == std::string_view::npos ? p.npos : slash - start), token);
        tokens.push_back(std::move(token));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
      }
    }
    std::optional<json::value> value;
    if (ok && tokens.empty()) {
      value = json::value(*found->args);
    } else if (ok) {
      // The top level is the response object: start below it without copying it.
      if (const auto* first = found->args->if_contains(tokens[0]))
        value = evaluate(*first, tokens, 1, 0);
    }
    if (!value) {
      error_type = "invalidResultReference";
      description = "the path \"" + std::string(p) + "\" selects nothing";
      return false;
    }
    args.erase(key);
    args[plain] = std::move(*value);
  }
  return true;
}

}  // namespace mailroom::jmap
