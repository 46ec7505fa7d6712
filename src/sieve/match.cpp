#include "src/sieve/match.h"

#include <cctype>

namespace mailroom::sieve {
namespace {

char fold(char c, Comparator cmp) {
  if (cmp == Comparator::ascii_casemap && c >= 'A' && c <= 'Z')
    return static_cast<char>(c - 'A' + 'a');
  return c;
}

bool same(char a, char b, Comparator c) { return fold(a, c) == fold(b, c); }

// The pattern with escapes resolved: each element is a literal octet or a wildcard.
struct PatternChar {
  char c;
  enum Kind { literal, star, one } kind;
};

std::vector<PatternChar> compile(std::string_view p) {
  std::vector<PatternChar> out;
  out.reserve(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      out.push_back({p[++i], PatternChar::literal});
    } else if (p[i] == '*') {
      out.push_back({'*', PatternChar::star});  // "**" kept: each "*" is its own ${N}
    } else if (p[i] == '?') {
      out.push_back({'?', PatternChar::one});
    } else {
      out.push_back({p[i], PatternChar::literal});
    }
  }
  return out;
}

}  // namespace

std::optional<Comparator> comparator_named(std::string_view name) {
  if (name == "i;octet") return Comparator::octet;
  if (name == "i;ascii-casemap") return Comparator::ascii_casemap;
  if (name == "i;ascii-numeric") return Comparator::ascii_numeric;
  return std::nullopt;
}

Relation relation_named(std::string_view op) {
  if (op == "gt") return Relation::gt;
  if (op == "ge") return Relation::ge;
  if (op == "lt") return Relation::lt;
  if (op == "le") return Relation::le;
  if (op == "ne") return Relation::ne;
  return Relation::eq;
}

bool glob_match(std::string_view pattern, std::string_view text, Comparator c, Budget& budget,
                std::vector<std::string>* captures) {
  const std::vector<PatternChar> p = compile(pattern);
  // Wildcard number of each pattern position, for the captures.
  std::vector<int> wild_index(p.size(), -1);
  int wildcards = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i].kind != PatternChar::literal) wild_index[i] = wildcards++;
  }
  std::vector<std::pair<size_t, size_t>> spans(static_cast<size_t>(wildcards), {0, 0});
  size_t pi = 0, ti = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (ti < text.size()) {
    if (!budget.charge(1)) return false;
    if (pi < p.size() && p[pi].kind == PatternChar::star) {
      star_p = pi;
      star_t = ti;
      spans[static_cast<size_t>(wild_index[pi])] = {ti, ti};
      ++pi;
    } else if (pi < p.size() &&
               (p[pi].kind == PatternChar::one ||
                (p[pi].kind == PatternChar::literal && same(p[pi].c, text[ti], c)))) {
      if (p[pi].kind == PatternChar::one) spans[static_cast<size_t>(wild_index[pi])] = {ti, ti + 1};
      ++pi;
      ++ti;
    } else if (star_p != std::string_view::npos) {
      // Back up: the last "*" takes one more octet.
      pi = star_p + 1;
      ti = ++star_t;
      spans[static_cast<size_t>(wild_index[star_p])].second = star_t;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi].kind == PatternChar::star) {
    spans[static_cast<size_t>(wild_index[pi])] = {ti, ti};
    ++pi;
  }
  if (pi != p.size()) return false;
  if (captures) {
    captures->clear();
    captures->emplace_back(text);
    for (const auto& [from, to] : spans) captures->emplace_back(text.substr(from, to - from));
  }
  return true;
}

int compare(std::string_view a, std::string_view b, Comparator c) {
  if (c == Comparator::ascii_numeric) {
    auto digits = [](std::string_view s) {
      size_t n = 0;
      while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
      std::string_view d = s.substr(0, n);
      while (d.size() > 1 && d.front() == '0') d.remove_prefix(1);
      return std::make_pair(n > 0, d);
    };
    auto [a_num, ad] = digits(a);
    auto [b_num, bd] = digits(b);
    if (!a_num || !b_num) return a_num == b_num ? 0 : a_num ? -1 : 1;  // non-numbers = infinity
    if (ad.size() != bd.size()) return ad.size() < bd.size() ? -1 : 1;
    int r = ad.compare(bd);
    return r < 0 ? -1 : r > 0 ? 1 : 0;
  }
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    auto x = static_cast<unsigned char>(fold(a[i], c));
    auto y = static_cast<unsigned char>(fold(b[i], c));
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : a.size() < b.size() ? -1 : 1;
}

bool relation_holds(int cmp, Relation r) {
  switch (r) {
    case Relation::gt:
      return cmp > 0;
    case Relation::ge:
      return cmp >= 0;
    case Relation::lt:
      return cmp < 0;
    case Relation::le:
      return cmp <= 0;
    case Relation::eq:
      return cmp == 0;
    case Relation::ne:
      return cmp != 0;
  }
  return false;
}

std::string quote_wildcard(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '*' || ch == '?' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace mailroom::sieve
