// RFC 8601 2.7 result names of SPF (spf.h) and DKIM verification (dkim_verify.h).
#include "src/mailauth/dkim_verify.h"
#include "src/mailauth/spf.h"

namespace mailroom::mailauth {

const char* spf_result_name(SpfResult r) {
  switch (r) {
    case SpfResult::none:
      return "none";
    case SpfResult::neutral:
      return "neutral";
    case SpfResult::pass:
      return "pass";
    case SpfResult::fail:
      return "fail";
    case SpfResult::softfail:
      return "softfail";
    case SpfResult::temperror:
      return "temperror";
    case SpfResult::permerror:
      return "permerror";
  }
  return "none";
}

const char* dkim_result_name(DkimResult r) {
  switch (r) {
    case DkimResult::none:
      return "none";
    case DkimResult::pass:
      return "pass";
    case DkimResult::fail:
      return "fail";
    case DkimResult::policy:
      return "policy";
    case DkimResult::neutral:
      return "neutral";
    case DkimResult::temperror:
      return "temperror";
    case DkimResult::permerror:
      return "permerror";
  }
  return "none";
}

}  // namespace mailroom::mailauth
