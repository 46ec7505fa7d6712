// The SCIM 2.0 schemas this server speaks (RFC 7643 4.1 User, 4.2 Group, 4.3 Enterprise
// User), as one table: /Schemas is generated from it, and writes (POST, PUT, PATCH) check
// attribute names, mutability and types against it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom::api::scim {

inline constexpr const char* kUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
inline constexpr const char* kGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
inline constexpr const char* kEnterpriseSchema =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
inline constexpr const char* kListSchema = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
inline constexpr const char* kErrorSchema = "urn:ietf:params:scim:api:messages:2.0:Error";
inline constexpr const char* kPatchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
inline constexpr const char* kSearchSchema = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

enum class ResourceKind { user, group };

enum class AttributeType { string, boolean, decimal, integer, date_time, reference, complex };

struct AttributeInfo {
  std::string name;        // canonical spelling ("userName", "givenName")
  std::string schema;      // canonical URN of the schema that holds it (extension or core)
  bool extension = false;  // lives in the extension's object, not at the top level
  AttributeType type = AttributeType::string;
  bool multi_valued = false;
  bool read_only = false;  // id, meta, groups: a write naming them is scimType "mutability"
};

// The attribute `attr` (and, when not empty, its sub-attribute `sub`) of a resource kind.
// `schema` is lower-case ("" for the core schema). nullopt: unknown.
std::optional<AttributeInfo> find_attribute(ResourceKind kind, std::string_view schema,
                                            std::string_view attr, std::string_view sub = {});

// Whether `urn` (any case) is a schema URN of this kind; sets `canonical`.
bool known_schema(ResourceKind kind, std::string_view urn, std::string* canonical = nullptr);

// RFC 7643 7: the Schema resources, as JSON. `id` empty: a ListResponse of all three;
// otherwise the one schema (nullopt when unknown). `base_url` ends before "/Schemas".
std::optional<std::string> schemas_document(std::string_view id, std::string_view base_url);

}  // namespace mailroom::api::scim
