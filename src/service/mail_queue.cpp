#include "src/service/mail_queue.h"

#include <algorithm>

#include "src/queue/control.h"
#include "src/queue/envelope_codec.h"
#include "src/queue/spool.h"

namespace mailroom::service {

const char* recipient_state_name(queue::RecipientState state) {
  switch (state) {
    case queue::RecipientState::pending:
      return "pending";
    case queue::RecipientState::delivered:
      return "delivered";
    case queue::RecipientState::failed:
      return "failed";
    case queue::RecipientState::remote:
      return "remote";
    case queue::RecipientState::remote_warned:
      return "remote (sender warned of the delay)";
    case queue::RecipientState::bounce_due:
      return "failed (bounce not yet sent)";
  }
  return "unknown";
}

core::Result<std::vector<SpooledMessage>> MailQueue::list() {
  std::vector<queue::SpoolRecord> records;
  if (auto s = queue::read_spool(spool_dir_, &records); !s) return s;
  std::vector<SpooledMessage> out;
  auto held = queue::held_messages(spool_dir_);
  for (const auto& r : records) {
    auto env = queue::decode_envelope(r.envelope);
    if (!env) continue;
    SpooledMessage m{r.queue_id,
                     env->sender,
                     r.message.size(),
                     env->received_at,
                     std::find(held.begin(), held.end(), r.queue_id) != held.end(),
                     {}};
    bool live = false;
    for (size_t i = 0; i < env->recipients.size(); ++i) {
      auto it = r.states.find(static_cast<uint32_t>(i));
      auto state = static_cast<queue::RecipientState>(it == r.states.end() ? 0 : it->second);
      const auto& rc = env->recipients[i];
      bool remote = rc.destination.kind == auth::Destination::Kind::remote;
      if (state == queue::RecipientState::pending && remote) state = queue::RecipientState::remote;
      if (state == queue::RecipientState::pending || state == queue::RecipientState::remote ||
          state == queue::RecipientState::remote_warned ||
          state == queue::RecipientState::bounce_due) {
        live = true;
      }
      m.recipients.push_back({rc.rcpt, rc.destination.address, state});
    }
    if (live) out.push_back(std::move(m));
  }
  return out;
}

core::Status MailQueue::request(const std::string& verb, const std::string& queue_id) {
  return queue::write_control_request(spool_dir_, queue::ControlRequest{verb, queue_id});
}

}  // namespace mailroom::service
