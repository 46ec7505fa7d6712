#include "src/pop3/maildrop.h"

#include <utility>

namespace mailroom::pop3 {

Maildrop::Maildrop(store::Snapshot snapshot)
    : uid_validity_(snapshot.uid_validity),
      messages_(std::move(snapshot.messages)),
      deleted_(messages_.size(), false) {}

const store::MessageMeta* Maildrop::find(uint32_t number) const {
  if (!exists(number) || deleted_[number - 1]) return nullptr;
  return &messages_[number - 1];
}

uint32_t Maildrop::count() const {
  uint32_t n = 0;
  for (bool d : deleted_) n += d ? 0 : 1;
  return n;
}

uint64_t Maildrop::octets() const {
  uint64_t total = 0;
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    if (!deleted_[i]) total += messages_[i].size;
  }
  return total;
}

bool Maildrop::mark_deleted(uint32_t number) {
  if (!exists(number) || deleted_[number - 1]) return false;
  deleted_[number - 1] = true;
  return true;
}

void Maildrop::reset() { deleted_.assign(messages_.size(), false); }

std::vector<uint32_t> Maildrop::deleted_uids() const {
  std::vector<uint32_t> uids;
  for (std::size_t i = 0; i < messages_.size(); ++i) {
    if (deleted_[i]) uids.push_back(messages_[i].uid);
  }
  return uids;
}

std::string Maildrop::unique_id(uint32_t number) const {
  return std::to_string(uid_validity_) + "." + std::to_string(messages_.at(number - 1).uid);
}

}  // namespace mailroom::pop3
