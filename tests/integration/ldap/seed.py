"""Test directory contents: OpenLDAP-profile people/groups under ou=people/ou=groups and
Active-Directory-shaped entries (ad-lite schema) under ou=corp."""
from ldap_fixture import SUFFIX, b64, guid_b64

BOB_GUID = "6f1c2a9e-1d2b-4c3d-8e4f-5a6b7c8d9e0f"
DIANA_GUID = "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9"
EXPIRED_GUID = "ffffffff-0000-4000-8000-000000000001"
GROUP_GUID = "12345678-90ab-4cde-8f01-234567890abc"


def openldap_seed():
    return f"""dn: {SUFFIX}
objectClass: top
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=people,{SUFFIX}
objectClass: inetOrgPerson
objectClass: mailroomAccount
uid: alice
cn: Alice Liddell
sn: Liddell
mail: alice@example.com
mailAlternateAddress: info@example.com
mailQuotaBytes: 1073741824
mailQuotaMessages: 5000
mailAccountStatus: active
userPassword: wonderland

dn: uid=bob,ou=people,{SUFFIX}
objectClass: inetOrgPerson
objectClass: mailroomAccount
uid: bob
cn: Bob Builder
sn: Builder
mail: bob@example.com
mailForwardingAddress: bob@elsewhere.example
mailDeliveryOption: forwardonly
userPassword: builder

dn: uid=carol,ou=people,{SUFFIX}
objectClass: inetOrgPerson
objectClass: mailroomAccount
uid: carol
cn: Carol Disabled
sn: Disabled
mail: carol@example.com
mailAccountStatus: disabled
departmentNumber: 42
userPassword: carolpw

dn:: {b64("cn=王小明,ou=people," + SUFFIX)}
objectClass: inetOrgPerson
objectClass: mailroomAccount
cn:: {b64("王小明")}
sn:: {b64("王")}
uid: wang
mail: wang@example.com
mailAlternateAddress:: {b64("小明@example.com")}
departmentNumber: 42
userPassword:: {b64("密碼123")}

dn: cn=staff,ou=groups,{SUFFIX}
objectClass: groupOfNames
objectClass: mailroomGroup
cn: staff
mail: staff@example.com
member: uid=alice,ou=people,{SUFFIX}
member: uid=bob,ou=people,{SUFFIX}

dn: cn=all,ou=groups,{SUFFIX}
objectClass: groupOfNames
objectClass: mailroomGroup
cn: all
mail: all@example.com
mailGroupSendPolicy: domain
member: cn=staff,ou=groups,{SUFFIX}
member:: {b64("cn=王小明,ou=people," + SUFFIX)}
member: cn=admin,{SUFFIX}
member: uid=ghost,ou=people,{SUFFIX}

dn: cn=board,ou=groups,{SUFFIX}
objectClass: groupOfUniqueNames
objectClass: mailroomGroup
cn: board
mail: board@example.com
mailGroupSendPolicy: moderators
mailGroupAllowedSender: alice@example.com
uniqueMember: uid=bob,ou=people,{SUFFIX}#'0101'B
uniqueMember: uid=carol,ou=people,{SUFFIX}

dn: cn=dept42,ou=groups,{SUFFIX}
objectClass: groupOfURLs
objectClass: mailroomGroup
cn: dept42
mail: dept42@example.com
memberURL: ldap:///ou=people,{SUFFIX}??sub?(departmentNumber=42)

dn: cn=sales,{SUFFIX}
objectClass: mailroomAlias
cn: sales
mail: sales@example.com
mailForwardingAddress: alice@example.com
mailForwardingAddress: partner@remote.example
"""


def ad_seed():
    return f"""dn: ou=corp,{SUFFIX}
objectClass: organizationalUnit
ou: corp

dn: cn=Bob Smith,ou=corp,{SUFFIX}
objectClass: user
cn: Bob Smith
sn: Smith
displayName: Bob Smith
sAMAccountName: bsmith
userPrincipalName: bsmith@corp.example
mail: bob@corp.example
proxyAddresses: SMTP:Bob.Smith@corp.example
proxyAddresses: smtp:bob@corp.example
proxyAddresses: X500:/o=corp/cn=bsmith
userAccountControl: 512
accountExpires: 9223372036854775807
objectGUID:: {guid_b64(BOB_GUID)}
uSNChanged: 1001
userPassword: Passw0rd!2

dn: cn=Diana Off,ou=corp,{SUFFIX}
objectClass: user
cn: Diana Off
sn: Off
sAMAccountName: diana
mail: diana@corp.example
userAccountControl: 514
objectGUID:: {guid_b64(DIANA_GUID)}
uSNChanged: 1002
userPassword: Passw0rd!3

dn: cn=Old Timer,ou=corp,{SUFFIX}
objectClass: user
cn: Old Timer
sn: Timer
sAMAccountName: old
mail: old@corp.example
userAccountControl: 512
accountExpires: 132223104000000000
objectGUID:: {guid_b64(EXPIRED_GUID)}
uSNChanged: 1003

dn: cn=mailusers,ou=corp,{SUFFIX}
objectClass: group
cn: mailusers
sAMAccountName: mailusers
mail: mailusers@corp.example
member: cn=Bob Smith,ou=corp,{SUFFIX}
member: cn=Diana Off,ou=corp,{SUFFIX}
objectGUID:: {guid_b64(GROUP_GUID)}
uSNChanged: 1004
"""
