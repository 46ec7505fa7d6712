// A SCIM error response (RFC 7644 3.12): HTTP status, scimType (may be empty) and detail.
#pragma once

#include <string>

namespace mailroom::api::scim {

struct ScimError {
  int status = 400;
  std::string scim_type;  // invalidFilter, tooMany, uniqueness, mutability, invalidSyntax,
                          // invalidPath, noTarget, invalidValue, invalidVers, sensitive
  std::string detail;     // client-safe
};

inline ScimError scim_bad_request(std::string scim_type, std::string detail) {
  return ScimError{400, std::move(scim_type), std::move(detail)};
}

}  // namespace mailroom::api::scim
