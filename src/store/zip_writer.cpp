#include "src/store/zip_writer.h"

#include <zlib.h>

#include <ctime>

namespace mailroom::store {
namespace {

void le16(std::string& s, uint32_t v) {
  s += static_cast<char>(v & 0xFF);
  s += static_cast<char>((v >> 8) & 0xFF);
}
void le32(std::string& s, uint32_t v) {
  le16(s, v & 0xFFFF);
  le16(s, v >> 16);
}

core::Status deflate_raw(std::string_view in, std::string& out) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return core::internal_error("deflateInit2 failed");
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return core::internal_error("deflate failed");
  return core::Status::ok();
}

}  // namespace

core::Status ZipWriter::put(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), out_) != bytes.size())
    return core::io_error("cannot write the ZIP file");
  offset_ += bytes.size();
  return core::Status::ok();
}

core::Status ZipWriter::add(const std::string& name, std::string_view data, int64_t mtime) {
  if (entries_.size() >= 0xFFFF || offset_ + data.size() > 0xF0000000ULL || name.size() > 0xFFFF)
    return core::invalid_argument("export too large for a ZIP file (no ZIP64)");
  Entry e;
  e.name = name;
  e.usize = static_cast<uint32_t>(data.size());
  e.crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
  std::string packed;
  auto s = deflate_raw(data, packed);
  if (!s.is_ok()) return s;
  std::string_view body = packed;
  e.method = 8;
  if (packed.size() >= data.size()) {  // incompressible: store
    body = data;
    e.method = 0;
  }
  e.csize = static_cast<uint32_t>(body.size());
  std::time_t t = static_cast<std::time_t>(mtime);
  std::tm tm{};
  gmtime_r(&t, &tm);
  if (tm.tm_year < 80) tm = std::tm{0, 0, 0, 1, 0, 80, 0, 0, 0, 0, nullptr};
  e.time = static_cast<uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  e.date = static_cast<uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  e.offset = static_cast<uint32_t>(offset_);

  std::string h;
  le32(h, 0x04034b50);
  le16(h, 20);      // version needed
  le16(h, 0x0800);  // bit 11: name is UTF-8
  le16(h, e.method);
  le16(h, e.time);
  le16(h, e.date);
  le32(h, e.crc);
  le32(h, e.csize);
  le32(h, e.usize);
  le16(h, static_cast<uint32_t>(name.size()));
  le16(h, 0);
  h += name;
  s = put(h);
  if (s.is_ok()) s = put(body);
  if (s.is_ok()) entries_.push_back(std::move(e));
  return s;
}

core::Status ZipWriter::finish() {
  uint64_t cd_start = offset_;
  std::string cd;
  for (const auto& e : entries_) {
    le32(cd, 0x02014b50);
    le16(cd, 0x0314);  // made by: Unix, 2.0
    le16(cd, 20);
    le16(cd, 0x0800);
    le16(cd, e.method);
    le16(cd, e.time);
    le16(cd, e.date);
    le32(cd, e.crc);
    le32(cd, e.csize);
    le32(cd, e.usize);
    le16(cd, static_cast<uint32_t>(e.name.size()));
    le16(cd, 0);               // extra
    le16(cd, 0);               // comment
    le16(cd, 0);               // disk
    le16(cd, 0);               // internal attributes
    le32(cd, 0100644u << 16);  // external: regular file rw-r--r--
    le32(cd, e.offset);
    cd += e.name;
  }
  auto s = put(cd);
  if (!s.is_ok()) return s;
  std::string end;
  le32(end, 0x06054b50);
  le16(end, 0);
  le16(end, 0);
  le16(end, static_cast<uint32_t>(entries_.size()));
  le16(end, static_cast<uint32_t>(entries_.size()));
  le32(end, static_cast<uint32_t>(cd.size()));
  le32(end, static_cast<uint32_t>(cd_start));
  le16(end, 0);
  return put(end);
}

}  // namespace mailroom::store
