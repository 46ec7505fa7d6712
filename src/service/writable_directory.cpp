#include "src/service/writable_directory.h"

#include "auth/policy/policy_directory.h"

namespace mailroom::service {

core::Result<auth::LocalDirectory*> writable_directory(auth::Directory& directory) {
  auto* local = dynamic_cast<auth::LocalDirectory*>(&directory);
  // mailroomd and mailroomctl see the local directory through the policy decorator.
  if (auto* decorated = dynamic_cast<auth::PolicyDirectory*>(&directory))
    local = dynamic_cast<auth::LocalDirectory*>(decorated->undecorated().get());
  if (!local) {
    return core::invalid_argument("directory backend " + directory.name() + " is read-only here");
  }
  return local;
}

}  // namespace mailroom::service
