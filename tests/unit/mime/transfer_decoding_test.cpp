// Content-Transfer-Encoding decoding (RFC 2045 6.7, 6.8) for IMAP BINARY (RFC 3516).
#include "src/mime/transfer_decoding.h"

#include <gtest/gtest.h>

namespace mailroom::mime {
namespace {

TEST(TransferDecoding, EncodingFromTheHeader) {
  EXPECT_EQ(transfer_encoding("Subject: x\r\n\r\n"), TransferEncoding::identity);
  EXPECT_EQ(transfer_encoding("Content-Transfer-Encoding: 7bit\r\n\r\n"),
            TransferEncoding::identity);
  EXPECT_EQ(transfer_encoding("content-transfer-encoding:  BINARY \r\n\r\n"),
            TransferEncoding::identity);
  EXPECT_EQ(transfer_encoding("Content-Transfer-Encoding: Base64 (the usual)\r\n\r\n"),
            TransferEncoding::base64);
  EXPECT_EQ(transfer_encoding("Content-Transfer-Encoding:\r\n quoted-printable\r\n\r\n"),
            TransferEncoding::quoted_printable);
  EXPECT_EQ(transfer_encoding("Content-Transfer-Encoding: x-uuencode\r\n\r\n"),
            TransferEncoding::unknown);
  EXPECT_EQ(transfer_encoding("Content-Transfer-Encoding: base 64\r\n\r\n"),
            TransferEncoding::unknown);
}

TEST(TransferDecoding, Base64IgnoresNoiseAndStopsAtPadding) {
  EXPECT_EQ(decode_transfer("aGVs\r\nbG8=\r\n", TransferEncoding::base64), "hello");
  EXPECT_EQ(decode_transfer("aG!V*s bG8", TransferEncoding::base64), "hello");
  EXPECT_EQ(decode_transfer("AAEC/w==junk", TransferEncoding::base64),
            std::string("\0\1\2\xff", 4));
  EXPECT_EQ(decode_transfer("", TransferEncoding::base64), "");
  EXPECT_EQ(decode_transfer("a", TransferEncoding::base64), "");  // 6 bits make no octet
  EXPECT_EQ(decoded_size("aGVs\r\nbG8=\r\n", TransferEncoding::base64), 5u);
  EXPECT_EQ(decode_transfer("aGVsbG8=", TransferEncoding::base64, 2), "he");
}

TEST(TransferDecoding, QuotedPrintableSoftBreaksEscapesAndBrokenEquals) {
  EXPECT_EQ(
      decode_transfer("caf=C3=A9 =\r\nbar  \r\nx=3d=\r\n", TransferEncoding::quoted_printable),
      "caf\xc3\xa9 bar\r\nx=");
  EXPECT_EQ(decode_transfer("a=ZZb=4\r\n=", TransferEncoding::quoted_printable), "a=ZZb=4\r\n");
  EXPECT_EQ(decode_transfer("tab=09end=00\nlf", TransferEncoding::quoted_printable),
            std::string("tab\tend\0\nlf", 11));
  EXPECT_EQ(decoded_size("caf=C3=A9 =\r\nbar  \r\n", TransferEncoding::quoted_printable), 11u);
  EXPECT_EQ(decode_transfer("=41=42=43", TransferEncoding::quoted_printable, 2), "AB");
}

TEST(TransferDecoding, IdentityIsTheOctets) {
  EXPECT_EQ(decode_transfer("a=41\r\n", TransferEncoding::identity), "a=41\r\n");
  EXPECT_EQ(decoded_size("a=41\r\n", TransferEncoding::identity), 6u);
  EXPECT_EQ(decode_transfer("abc", TransferEncoding::identity, 0), "");
}

}  // namespace
}  // namespace mailroom::mime
