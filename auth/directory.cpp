#include "auth/directory.h"

namespace mailroom::auth {

const char* account_status_name(AccountStatus s) {
  switch (s) {
    case AccountStatus::active:
      return "active";
    case AccountStatus::disabled:
      return "disabled";
    case AccountStatus::deleted:
      return "deleted";
  }
  return "active";
}

}  // namespace mailroom::auth
