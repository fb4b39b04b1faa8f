// Built with find_package(vcm) and target vcm::vcm: vcm::vector, vcm::allocator and the append
// API from an installed vcm.
#include <cstdio>
#include <map>
#include <string>

#include <vcm.hpp>

int main() {
  vcm::vector<std::string> words{"vector", "malloc"};
  words.insert(words.begin(), "the");
  for (int i = 0; i < 1000; i++) words.push_back(std::to_string(i));
  std::map<int, int, std::less<int>, vcm::allocator<std::pair<const int, int>>> squares;
  for (int i = 0; i < 100; i++) squares[i] = i * i;
  char *s = nullptr;
  if (vcm_str_printf(&s, "%s %s %s", words[0].c_str(), words[1].c_str(), words[2].c_str()) != 0)
    return 1;
  std::printf("words: %zu, last %s, capacity is a vcm block: %s\n", words.size(),
              words.back().c_str(), vcm_capacity(words.data()) > 0 ? "yes" : "no");
  std::printf("squares[99] = %d\n", squares[99]);
  std::printf("string: %s (length %zu)\n", vcm_str_cstr(s), vcm_str_len(s));
  vcm_free(s);
  return 0;
}
