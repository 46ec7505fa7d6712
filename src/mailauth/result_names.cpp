// RFC 8601 2.7 result names of SPF (spf.h). (Until spf.cpp exists.)
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

}  // namespace mailroom::mailauth
