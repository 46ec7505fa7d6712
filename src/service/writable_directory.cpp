#include "src/service/writable_directory.h"

namespace mailroom::service {

core::Result<auth::LocalDirectory*> writable_directory(auth::Directory& directory) {
  auto* local = dynamic_cast<auth::LocalDirectory*>(&directory);
  if (!local) {
    return core::invalid_argument("directory backend " + directory.name() + " is read-only here");
  }
  return local;
}

}  // namespace mailroom::service
