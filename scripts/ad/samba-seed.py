#!/usr/bin/python3
"""Seeds a provisioned, stopped Samba AD DC offline, straight into sam.ldb, in one
transaction (tests/integration/peers_samba_ldap.py, scripts/ad/demo-samba.sh). Run with
Debian's /usr/bin/python3 (python3-samba):

    scripts/ad/samba-seed.py SMB_CONF PEOPLE.json

PEOPLE.json: {"users": [{"name", "password", "mail", "proxy": [..], "upn", "uac", "expires",
"display"}], "bulk": {"prefix", "count", "domain"}, "groups": [{"name", "mail", "members":
[sAMAccountName of users or groups], "bulk": true}], "tombstone_reader": sAMAccountName,
"simple_passwords": true (the demo's: no complexity rule, MS-ADTS 3.1.1.3.1.14.1 pwdProperties),
"bulk_groups": {"prefix", "count", "size", "domain"} (bench/ad: group i holds `size` bulk users
from the (i * size)-th on, wrapping)}.

Users with a password are made by SamDB.newuser (samba-tool's code: keys for every enctype,
~30 ms each); the bulk users get none, only userAccountControl NORMAL_ACCOUNT |
PASSWD_NOTREQD (544, enabled), which makes 1,600 of them cost a second instead of a minute.
"""
import json
import sys

import ldb
from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_pack, ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB

conf, people_file = sys.argv[1:]
with open(people_file) as f:
    people = json.load(f)
lp = LoadParm()
lp.load(conf)
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
domain_dn = str(db.domain_dn())
users_dn = "CN=Users," + domain_dn


def replace(dn, **attrs):
    msg = ldb.Message(ldb.Dn(db, dn))
    for name, value in attrs.items():
        values = value if isinstance(value, list) else [str(value)]
        msg[name] = ldb.MessageElement(values, ldb.FLAG_MOD_REPLACE, name)
    db.modify(msg)


def grant_tombstone_listing(account):
    """What an administrator does so that a service account sees deleted objects (AD lets
    only Administrators list CN=Deleted Objects; Microsoft KB 892806: dsacls /takeownership,
    then /G account:LCRP): an ACE List Contents + Read Property for the account on the
    container's DACL. Without it the account's show-deleted searches find no tombstones."""
    sid = db.search(base=domain_dn, expression=f"(sAMAccountName={account})",
                    attrs=["objectSid"])[0]["objectSid"][0]
    dn = "CN=Deleted Objects," + domain_dn
    controls = ["show_deleted:1", "sd_flags:1:4"]  # DACL only (MS-ADTS 3.1.1.3.4.1.11)
    res = db.search(base=dn, scope=ldb.SCOPE_BASE, attrs=["nTSecurityDescriptor"],
                    controls=controls)
    sd = ndr_unpack(security.descriptor, res[0]["nTSecurityDescriptor"][0])
    ace = security.ace()
    ace.type = security.SEC_ACE_TYPE_ACCESS_ALLOWED
    ace.access_mask = security.SEC_ADS_LIST | security.SEC_ADS_READ_PROP
    ace.trustee = ndr_unpack(security.dom_sid, sid)
    sd.dacl_add(ace)
    msg = ldb.Message(ldb.Dn(db, dn))
    msg["nTSecurityDescriptor"] = ldb.MessageElement(ndr_pack(sd), ldb.FLAG_MOD_REPLACE,
                                                     "nTSecurityDescriptor")
    db.modify(msg, controls=controls)


db.transaction_start()
try:
    if people.get("simple_passwords"):
        db.set_pwdProperties("0")  # not DOMAIN_PASSWORD_COMPLEX
    dn_of = {}
    for u in people["users"]:
        db.newuser(u["name"], u["password"], mailaddress=u.get("mail"),
                   givenname=u.get("display", u["name"]))
        dn = f"CN={u['name']},{users_dn}"
        dn_of[u["name"]] = dn
        extra = {}
        if u.get("proxy"):
            extra["proxyAddresses"] = u["proxy"]
        if u.get("upn"):
            extra["userPrincipalName"] = u["upn"]
        if u.get("display"):
            extra["displayName"] = u["display"]
        if u.get("uac") is not None:
            extra["userAccountControl"] = u["uac"]
        if u.get("expires") is not None:
            extra["accountExpires"] = u["expires"]  # MS-ADTS 2.2.16 (FILETIME ticks)
        if extra:
            replace(dn, **extra)
    bulk = people.get("bulk")
    bulk_dns = []
    if bulk:
        ou = f"OU=Bulk,{domain_dn}"
        db.add({"dn": ou, "objectClass": "organizationalUnit"})
        for i in range(1, bulk["count"] + 1):
            name = f"{bulk['prefix']}{i:04d}"
            dn = f"CN={name},{ou}"
            db.add({"dn": dn, "objectClass": "user", "sAMAccountName": name,
                    "mail": f"{name}@{bulk['domain']}", "userAccountControl": "544"})
            bulk_dns.append(dn)
            if i % 2000 == 0:
                # ldb slows down with the size of one transaction (50,000 adds in one ran
                # for more than ten minutes): bench/ad's big directories commit in steps.
                db.transaction_commit()
                db.transaction_start()
    for g in people.get("groups", []):
        db.newgroup(g["name"], mailaddress=g.get("mail"))
        dn_of[g["name"]] = f"CN={g['name']},{users_dn}"
    for g in people.get("groups", []):
        members = [dn_of[m] for m in g.get("members", [])]
        if g.get("bulk"):
            members += bulk_dns
        if members:
            msg = ldb.Message(ldb.Dn(db, dn_of[g["name"]]))
            msg["member"] = ldb.MessageElement(members, ldb.FLAG_MOD_ADD, "member")
            db.modify(msg)
    teams = people.get("bulk_groups")
    if teams and bulk_dns:
        ou = f"OU=Teams,{domain_dn}"
        db.add({"dn": ou, "objectClass": "organizationalUnit"})
        for i in range(teams["count"]):
            name = f"{teams['prefix']}{i:04d}"
            first = i * teams["size"]
            members = [bulk_dns[(first + k) % len(bulk_dns)] for k in range(teams["size"])]
            db.add({"dn": f"CN={name},{ou}", "objectClass": "group", "sAMAccountName": name,
                    "mail": f"{name}@{teams['domain']}", "member": members})
            if (i + 1) % 500 == 0:
                db.transaction_commit()
                db.transaction_start()
    if people.get("tombstone_reader"):
        grant_tombstone_listing(people["tombstone_reader"])
    # No password expiry in long test runs, and no lockout surprises.
    db.set_minPwdAge("0")
    db.set_maxPwdAge("0")
except Exception:
    db.transaction_cancel()
    raise
db.transaction_commit()
print(f"seeded {len(people['users'])} users, {len(bulk_dns)} bulk users, "
      f"{len(people.get('groups', []))} groups")
