// Tiny real documents for the attachment extraction tests, built in memory: a one-page PDF
// (Helvetica, ASCII text), and stored (uncompressed) ZIP archives holding a minimal .docx or
// OpenDocument text. Real enough for pdftotext, docx2txt and odt2txt.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace mailroom::fts::fixtures {

inline uint32_t crc32(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

inline void le(std::string& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// A ZIP archive (APPNOTE 4.3) of stored entries.
inline std::string zip(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out, central;
  for (const auto& [name, data] : files) {
    uint32_t offset = static_cast<uint32_t>(out.size());
    uint32_t crc = crc32(data);
    auto sz = static_cast<uint32_t>(data.size());
    // The fields both headers share: version needed, flags, method (stored), time, date
    // (1980-01-01), CRC-32, compressed and uncompressed size, name length, extra length.
    auto shared = [&](std::string& h) {
      for (uint32_t v : {20u, 0u, 0u, 0u, 0x21u}) le(h, v, 2);
      for (uint32_t v : {crc, sz, sz}) le(h, v, 4);
      le(h, static_cast<uint32_t>(name.size()), 2);
      le(h, 0, 2);
    };
    le(out, 0x04034b50, 4);
    shared(out);
    out += name;
    out += data;
    le(central, 0x02014b50, 4);
    le(central, 20, 2);  // version made by
    shared(central);
    for (int k = 0; k < 3; ++k) le(central, 0, 2);  // comment length, disk, internal attrs
    le(central, 0, 4);                              // external attributes
    le(central, offset, 4);
    central += name;
  }
  uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  le(out, 0x06054b50, 4);
  le(out, 0, 2);
  le(out, 0, 2);
  le(out, static_cast<uint32_t>(files.size()), 2);
  le(out, static_cast<uint32_t>(files.size()), 2);
  le(out, static_cast<uint32_t>(central.size()), 4);
  le(out, cd_offset, 4);
  le(out, 0, 2);
  return out;
}

inline std::string docx(const std::string& text) {
  return zip({{"[Content_Types].xml",
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas."
               "openxmlformats.org/package/2006/content-types\"><Override PartName=\"/word/"
               "document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument."
               "wordprocessingml.document.main+xml\"/></Types>"},
              {"word/document.xml",
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas."
               "openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>" +
                   text + "</w:t></w:r></w:p></w:body></w:document>"}});
}

inline std::string odt(const std::string& text) {
  return zip({{"mimetype", "application/vnd.oasis.opendocument.text"},
              {"content.xml",
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-content "
               "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" "
               "xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" "
               "office:version=\"1.2\"><office:body><office:text><text:p>" +
                   text + "</text:p></office:text></office:body></office:document-content>"}});
}

// A one-page PDF (ISO 32000-1 7.5: header, objects, xref table, trailer) showing `ascii`.
inline std::string pdf(const std::string& ascii) {
  std::string content = "BT /F1 24 Tf 72 700 Td (" + ascii + ") Tj ET";
  std::vector<std::string> objs = {
      "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
      "/Resources << /Font << /F1 5 0 R >> >> >>",
      "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"};
  std::string out = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objs.size(); ++i) {
    offsets.push_back(out.size());
    out += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
  }
  size_t xref = out.size();
  out += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t o : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", o);
    out += line;
  }
  out += "trailer\n<< /Size " + std::to_string(objs.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return out;
}

}  // namespace mailroom::fts::fixtures
