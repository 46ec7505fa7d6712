#include "src/preview/options.h"

#include "src/core/config_section.h"

namespace mailroom::preview {

Options parse_options(core::ConfigSection& s) {
  Options o;
  o.enabled = s.get_bool("office_preview", o.enabled);
  o.converter = s.get_string("office_converter", o.converter);
  o.sandbox = s.get_string("office_sandbox", o.sandbox);
  o.cache_dir = s.get_string("office_cache_dir", o.cache_dir);
  o.timeout = s.get_seconds("office_timeout", o.timeout);
  o.cpu = s.get_seconds("office_cpu", o.cpu);
  o.memory = s.get_size("office_memory", o.memory);
  o.max_input = s.get_size("office_max_input", o.max_input);
  o.max_output = s.get_size("office_max_output", o.max_output);
  o.concurrency = s.get_int("office_concurrency", o.concurrency, 1, 64);
  o.queue = s.get_int("office_queue", o.queue, 0, 10000);
  o.per_user = s.get_int("office_per_user", o.per_user, 1, 1000);
  o.cache_bytes = s.get_size("office_cache_bytes", o.cache_bytes);
  if (o.timeout <= 0) s.error("office_timeout", "must be positive");
  if (o.cpu <= 0) s.error("office_cpu", "must be positive");
  if (o.memory < (256u << 20)) s.error("office_memory", "must be at least 256M");
  if (o.max_input == 0) s.error("office_max_input", "must be positive");
  if (o.max_output == 0) s.error("office_max_output", "must be positive");
  if (o.cache_bytes < o.max_output) {
    s.error("office_cache_bytes", "must be at least office_max_output (the PDF is served from it)");
  }
  if (o.converter.empty() || o.converter[0] != '/') {
    s.error("office_converter", "must be an absolute path");
  }
  if (o.sandbox.empty() || o.sandbox[0] != '/')
    s.error("office_sandbox", "must be an absolute path");
  return o;
}

}  // namespace mailroom::preview
