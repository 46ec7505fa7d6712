// libFuzzer target: what a SCIM client sends as a filter or a PATCH path (RFC 7644 3.4.2.2,
// 3.5.2). The first byte picks the parser; the rest is the input:
//   0  a filter, evaluated against a fixed User resource
//   1  an attribute path
//   2  a PATCH message's path, applied as replace/add/remove to a fixed User
// Invariants: no crash, leak or UB and no time beyond -timeout (the parser is linear and
// bounded in depth); a refused filter is invalid_argument; a filter longer than the limit is
// always refused; patch errors have status 400 or 413 and a scimType for 400s.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/api/scim/filter.h"
#include "src/api/scim/patch.h"

using namespace mailroom;
using namespace mailroom::api::scim;

namespace {

const boost::json::object& fuzz_scim_user() {
  static const boost::json::object user = boost::json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "u1", "externalId": "X1", "userName": "alice@example.com", "active": true,
    "name": {"givenName": "Alice", "familyName": "Liddell"},
    "emails": [{"value": "alice@example.com", "type": "work", "primary": true},
               {"value": "a@example.org", "type": "home"}],
    "meta": {"lastModified": "2026-01-01T00:00:00Z"},
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
      "department": "W", "manager": {"value": "m1"}}
  })")
                                              .as_object();
  return user;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto f = parse_filter(in);
      if (!f) {
        if (f.code() != core::Code::invalid_argument) std::abort();
        return 0;
      }
      if (in.size() > kMaxFilterLength || !f->root) std::abort();
      (void)filter_matches(*f->root, fuzz_scim_user());
      std::string attr, value;
      (void)filter_equality_key(*f->root, {"username", "externalid"}, attr, value);
      break;
    }
    case 1: {
      auto p = parse_attr_path(in);
      if (p && p->attr.empty()) std::abort();
      break;
    }
    case 2: {
      for (const char* op : {"replace", "add", "remove"}) {
        boost::json::object body;
        body["schemas"] = boost::json::array{"urn:ietf:params:scim:api:messages:2.0:PatchOp"};
        body["Operations"] =
            boost::json::array{boost::json::object{{"op", op}, {"path", in}, {"value", "x"}}};
        boost::json::object user = fuzz_scim_user();
        auto e = apply_patch(ResourceKind::user, user, body);
        if (e && e->status != 400 && e->status != 413) std::abort();
        if (e && e->status == 400 && e->scim_type.empty()) std::abort();
      }
      break;
    }
  }
  return 0;
}
