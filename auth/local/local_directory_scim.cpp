// LocalDirectory: the SCIM overlay table (attributes src/api/scim stores beside accounts and
// groups; migration 003).
#include "auth/local/local_directory.h"
#include "auth/local/local_directory_impl.h"

namespace mailroom::auth {

Result<ScimOverlay> LocalDirectory::get_scim_overlay(const std::string& kind,
                                                     const std::string& key) {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare(
      "SELECT external_id, attributes, created_at, updated_at FROM scim_attributes "
      "WHERE kind = ?1 AND key = ?2");
  if (!q) return q.status();
  q->bind(1, kind).bind(2, key);
  Status st;
  if (!q->step(&st)) {
    if (!st) return st;
    return core::not_found("no SCIM attributes for " + key);
  }
  ScimOverlay o;
  o.external_id = q->text(0);
  o.attributes = q->text(1);
  o.created_at = q->i64(2);
  o.updated_at = q->i64(3);
  return o;
}

Status LocalDirectory::set_scim_overlay(const std::string& kind, const std::string& key,
                                        const std::string& external_id,
                                        const std::string& attributes) {
  return impl_->write([&]() -> Status {
    auto q = impl_->db->prepare(
        "INSERT INTO scim_attributes (kind, key, external_id, attributes, created_at, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (kind, key) DO UPDATE SET "
        "external_id = excluded.external_id, attributes = excluded.attributes, "
        "updated_at = excluded.updated_at");
    if (!q) return q.status();
    q->bind(1, kind).bind(2, key).bind(3, external_id).bind(4, attributes);
    q->bind(5, local_detail::now());
    return q->run();
  });
}

Result<std::vector<std::string>> LocalDirectory::find_scim_external_id(
    const std::string& kind, const std::string& external_id, int limit) {
  std::lock_guard lock(impl_->mu);
  auto q = impl_->db->prepare(
      "SELECT key FROM scim_attributes WHERE kind = ?1 AND external_id = ?2 ORDER BY key "
      "LIMIT ?3");
  if (!q) return q.status();
  q->bind(1, kind).bind(2, external_id).bind(3, static_cast<int64_t>(limit));
  std::vector<std::string> keys;
  Status st;
  while (q->step(&st)) keys.push_back(q->text(0));
  if (!st) return st;
  return keys;
}

}  // namespace mailroom::auth
