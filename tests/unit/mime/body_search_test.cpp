// SEARCH BODY's quick test (src/mime/body_search.cpp) and fold_case()'s ASCII runs: the quick
// test never says "no" to a needle that fold_case(decoded_body_text()) contains, and says "no"
// without decoding for plain messages that lack it; fold_case() equals g_utf8_casefold().
#include <glib.h>
#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <random>

#include "src/mime/facts.h"

namespace mailroom::mime {
namespace {

using namespace std::string_literals;

std::string glib_fold(const std::string& s) {
  gchar* f = g_utf8_casefold(s.data(), static_cast<gssize>(s.size()));
  std::string out(f);
  g_free(f);
  return out;
}

TEST(FoldCase, SameAsGlibCharacterByCharacter) {
  // Characters whose folds are ASCII (KELVIN SIGN, LONG S), longer (sharp s, ligatures,
  // dotted I), or in other scripts, next to ASCII letters.
  std::vector<std::string> pieces = {"A", "z", "Q ", "\r\n", "K", "\xE2\x84\xAA", "\xC5\xBF",
                                     "ß", "ﬃ", "İ",  "Σ",    "ς", "中文",         "Ä",
                                     "É", "ǅ", "😀", "1",    "=", "\x7F"};
  std::mt19937 rng(11);
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    for (int k = rng() % 12; k > 0; --k) s += pieces[rng() % pieces.size()];
    ASSERT_EQ(fold_case(s), glib_fold(s)) << s;
  }
  EXPECT_EQ(fold_case("Meeting \xE2\x84\xAA"), "meeting k");
  EXPECT_EQ(fold_case("a\xff"
                      "B"),
            "a\xff"
            "b");  // not UTF-8: ASCII lower-casing, as before
}

// Messages of the shapes the quick test answers and of those it must leave to the decoder.
std::vector<std::string> sample_messages() {
  const std::string h = "From: a@example.com\r\nSubject: Meeting notes\r\nMIME-Version: 1.0\r\n";
  return {
      // 7bit, no Content-Type: the word in the body, in a header only, or nowhere.
      h + "\r\nCan we move the MEETING to Thursday?\r\n",
      "Subject: meeting\r\n\r\nnothing here\r\n",
      "From: b@example.com\r\n\r\nlunch on friday\r\n",
      // Quoted-printable: a word split by a soft break, or written with =XX, or an "=" at
      // the very end (dropped by the decoder).
      h + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
          "quoted-printable\r\n\r\nplease join the mee=\r\nting =6Deeting =4DEETING x=3Dy\r\nend=",
      h + "Content-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: "
          "Quoted-Printable\r\n\r\nsoft=\nbreak with a bare LF and a tab=09here\r\n",
      // multipart/alternative, QP text and HTML whose meta names charset=3Dutf-8.
      h + "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\n"
          "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
          "quoted-printable\r\n\r\nNotes from today's meet=\r\ning.\r\n--b1\r\n"
          "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: "
          "quoted-printable\r\n\r\n<meta content=3D\"text/html; charset=3Dutf-8\">"
          "<p>Notes</p>\r\n--b1--\r\n",
      // A base64 text part and a base64 attachment: left to the decoder.
      h + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
          "bWVldGluZyBpbiByb29tIDNC\r\n",
      h + "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain"
          "\r\n\r\nsee attached\r\n--m\r\nContent-Type: application/pdf\r\n"
          "Content-Transfer-Encoding: base64\r\n\r\nbWVldGluZw==\r\n--m--\r\n",
      // Other charsets: ASCII octets that mean other text (UTF-7), or Latin-1.
      h + "Content-Type: text/plain; charset=utf-7\r\n\r\nmeeting +AGEAYgBj-\r\n",
      h + "Content-Type: text/plain; charset=iso-8859-1\r\n\r\nmeeting\r\n",
      h + "Content-Type: text/plain; charset*=utf-8''x\r\n\r\nmeeting\r\n",
      // 8-bit text, folded header fields, an encapsulated message, an unknown encoding.
      h + "Content-Type: text/plain; charset=utf-8\r\n\r\nGrüße vom \xE2\x84\xAA"
          "ongress\r\n",
      h + "Content-Type: text/plain;\r\n charset=utf-8\r\nContent-Transfer-Encoding:\r\n "
          "7bit\r\n\r\nfolded fields\r\n",
      h + "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Transfer-Encoding: "
          "quoted-printable\r\n\r\ninner mee=\r\nting\r\n",
      h + "Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n`\r\nend\r\n",
      h + "Content-Transfer-Encoding: 7bit\r\n\r\nwith a NUL\0meeting\r\n"s,
  };
}

TEST(BodySearch, NeverRulesOutWhatTheDecodedTextContains) {
  std::vector<std::string> needles = {
      "meeting", "mee",   "ting",      "ng",       "m",     "=",     "=3d",     "3d",
      "x=y",     "x",     "\t",        "notes",    "lunch", "inner", "nothing", "b1",
      "qp",      "grüße", "kongress",  "k",        "+agea", "abc",   "end=",    "end",
      "a\r",     "e\r\n", "meeting\r", "\r\nsoft", "tab\th"};
  std::mt19937 rng(5);
  for (const auto& m : sample_messages()) {
    std::string text = fold_case(decoded_body_text(m));
    // Every piece of the decoded text (without a line feed) is found...
    for (int k = 0; k < 300 && !text.empty(); ++k) {
      size_t at = rng() % text.size(), len = 1 + rng() % 12;
      std::string piece = text.substr(at, len);
      if (piece.find('\n') != std::string::npos) continue;
      ASSERT_TRUE(body_text_may_contain(m, piece)) << m << "\n[" << piece << "]";
    }
    // ...and a "no" is always right.
    for (const auto& n : needles) {
      std::string f = fold_case(n);
      if (!body_text_may_contain(m, f))
        EXPECT_EQ(text.find(f), std::string::npos) << m << "\n[" << n << "]";
    }
  }
}

TEST(BodySearch, AnswersPlainMessagesWithoutDecoding) {
  auto m = sample_messages();
  // Plain 7bit and quoted-printable messages without the word: "no" from the raw octets.
  EXPECT_FALSE(body_text_may_contain(m[2], "meeting"));
  EXPECT_FALSE(body_text_may_contain(m[3], "lunch"));
  EXPECT_FALSE(body_text_may_contain(m[5], "lunch"));
  EXPECT_FALSE(body_text_may_contain(m[12], "lunch"));
  EXPECT_FALSE(body_text_may_contain(m[13], "lunch"));
  // Words split by a soft break or written as =XX are found, as the decoder finds them.
  EXPECT_TRUE(body_text_may_contain(m[3], "meeting"));
  EXPECT_NE(fold_case(decoded_body_text(m[3])).find("meeting"), std::string::npos);
  EXPECT_TRUE(body_text_may_contain(m[5], "meeting"));
  // Only in a header: the quick test cannot tell, the decoder then says no (BODY is not the
  // header), and nothing is found inside base64 octets.
  EXPECT_TRUE(body_text_may_contain(m[1], "meeting"));
  EXPECT_EQ(fold_case(decoded_body_text(m[1])).find("meeting"), std::string::npos);
  EXPECT_EQ(fold_case(decoded_body_text(m[7])).find("meeting"), std::string::npos);
  // Base64 text, other charsets, RFC 2231 parameters, 8-bit text, x-uuencode, NUL: "maybe".
  for (size_t i : {6u, 8u, 9u, 10u, 11u, 14u, 15u})
    EXPECT_TRUE(body_text_may_contain(m[i], "lunch")) << m[i];
  // A needle with a line feed may span two texts: always "maybe".
  EXPECT_TRUE(body_text_may_contain(m[2], "x\ny"));
}

// The decoder returns to its start state after every LF, which makes the decoding of a range
// that starts a line a range of the whole decoding (the argument in body_search.cpp).
TEST(BodySearch, QuotedPrintableDecodingRestartsAtEachLineFeed) {
  const char* atoms[] = {"a", "=", "=4", "=4D", "=\r", "=\r\n", "=\n", "\r\n", "\n", "=zz", "B"};
  std::mt19937 rng(9);
  auto decode = [](const std::string& s) {
    std::string out(s.size(), '\0');
    int state = 0;
    guint32 save = 0;
    out.resize(g_mime_encoding_quoted_decode_step(
        reinterpret_cast<const unsigned char*>(s.data()), s.size(),
        reinterpret_cast<unsigned char*>(out.data()), &state, &save));
    return out;
  };
  for (int round = 0; round < 3000; ++round) {
    std::string a, b;
    for (int k = rng() % 8; k > 0; --k) a += atoms[rng() % 11];
    a += "\n";
    for (int k = rng() % 8; k > 0; --k) b += atoms[rng() % 11];
    std::string whole = decode(a + b), tail = decode(b);
    ASSERT_EQ(whole.substr(whole.size() - std::min(whole.size(), tail.size())), tail)
        << a << "|" << b;
    ASSERT_EQ(whole, decode(a) + tail) << a << "|" << b;
  }
}

}  // namespace
}  // namespace mailroom::mime
