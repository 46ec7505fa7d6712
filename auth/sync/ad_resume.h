// Whether an Active Directory poll may resume from its stored uSNChanged high-water mark
// (ldap_sync.cpp), or must read everything again.
//
// A USN is a counter of one domain controller's database, not of the domain: a mark taken on
// one DC means nothing on another, nor on the same DC restored from a backup (which gets a new
// invocationId, MS-ADTS 3.1.1.1.9 "Invocation ID"; a restore that kept it would show a
// highestCommittedUSN below the mark, a "USN rollback"). So the mark is stored with the
// invocationId of the DC it came from (the nTDSDSA object named by the rootDSE's
// dsServiceName, MS-ADTS 3.1.1.3.2.4 and 6.1.1.2.2.1.2.1.1) and used only on that DC.
// Microsoft's "Polling for Changes Using the USNChanged Attribute" describes the same rule.
#pragma once

#include <cstdint>
#include <string>

namespace mailroom::auth::sync {

// What the DC a connection reached said about itself (rootDSE and its nTDSDSA object).
struct DcIdentity {
  std::string invocation_id;  // "" when the server is not an AD DC (slapd with AD entries)
  uint64_t highest_usn = 0;   // rootDSE highestCommittedUSN
  std::string default_nc;     // rootDSE defaultNamingContext (where Deleted Objects live)
  bool is_ad() const { return !invocation_id.empty(); }
};

enum class Resume {
  changes,       // same DC, mark usable: read uSNChanged >= mark + 1
  no_mark,       // nothing stored yet
  other_dc,      // another DC (or the same one restored): full resync
  usn_rollback,  // same invocationId but the DC's highest USN is below the mark: full resync
};

// stored_usn / stored_invocation: the sync_state values ("" when absent).
Resume decide_resume(const std::string& stored_usn, const std::string& stored_invocation,
                     const DcIdentity& now);

const char* resume_name(Resume r);

}  // namespace mailroom::auth::sync
