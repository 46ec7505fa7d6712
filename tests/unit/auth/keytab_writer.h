// Keytabs for unit tests, written through libkrb5 with random keys (no KDC needed): for the
// acceptor keytab checks (kerberos_test.cpp) and the LDAP service bind's (ldap_options_test).
#pragma once

#include <gtest/gtest.h>
#include <krb5.h>

#include <string>
#include <vector>

namespace mailroom::testing {

// A keytab at `path` with one random AES-256 key (kvno 1) for each of `principals`.
inline void write_keytab(const std::string& path, const std::vector<std::string>& principals) {
  krb5_context ctx = nullptr;
  ASSERT_EQ(krb5_init_context(&ctx), 0);
  krb5_keytab kt = nullptr;
  std::string name = "FILE:" + path;
  ASSERT_EQ(krb5_kt_resolve(ctx, name.c_str(), &kt), 0);
  for (const auto& p : principals) {
    krb5_keytab_entry entry{};
    ASSERT_EQ(krb5_parse_name(ctx, p.c_str(), &entry.principal), 0);
    entry.vno = 1;
    ASSERT_EQ(krb5_c_make_random_key(ctx, ENCTYPE_AES256_CTS_HMAC_SHA1_96, &entry.key), 0);
    ASSERT_EQ(krb5_kt_add_entry(ctx, kt, &entry), 0);
    krb5_free_keytab_entry_contents(ctx, &entry);
  }
  krb5_kt_close(ctx, kt);
  krb5_free_context(ctx);
}

}  // namespace mailroom::testing
