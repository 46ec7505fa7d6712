// libFuzzer target: the company sign-in's parsers of network input (src/webmail/sso_protocol.h):
// the callback's query string (what any browser, or an attacker, sends to
// /webmail/sso/callback), the token endpoint's answer and the ID Token's claims (what the
// identity provider sends; the claims only after a good signature, fuzzed here without one).
// Invariants: no crash, leak or UB; an accepted callback has a state and exactly one of code and
// error, no value longer than kMaxCallbackValue and no control character in code, state, iss;
// accepted claims name a non-empty subject and value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/webmail/sso_protocol.h"

using namespace mailroom::webmail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto p = parse_callback_query(in, &why)) {
    if (p->state.empty() || p->code.empty() == p->error.empty()) std::abort();
    for (const std::string* v : {&p->code, &p->state, &p->iss}) {
      if (v->size() > kMaxCallbackValue) std::abort();
      for (unsigned char c : *v) {
        if (c < 0x20 || c == 0x7f) std::abort();
      }
    }
  } else if (why.empty()) {
    std::abort();  // a refusal always says why (the audit line)
  }
  (void)parse_token_response(in);
  IdTokenExpectations e{"https://idp.example", "webmail", "n0nce", "email", 1700000000, 60};
  if (auto c = check_id_token_claims(in, e, &why)) {
    if (c->subject.empty() || c->value.empty()) std::abort();
  }
  return 0;
}
