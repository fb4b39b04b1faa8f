// vcm::vector against std::vector's contract (cases written for vcm: construction, copy, move,
// element types that throw, iterators, insert/erase) and vcm::allocator in every standard
// container. The blocks come from vcm's process heap (vcm_stats counts them).
#include <deque>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "harness.h"
#include "vcm.hpp"

static size_t live_chunks() {
  vcm_stats st;
  vcm_stats_get(&st);
  return st.small_live_chunks + st.large_live;
}

// ---- element types -------------------------------------------------------------------------

// Counts live instances; copies throw when the countdown reaches zero.
static long live, countdown = -1;
struct Thrower {
  int v;
  Thrower(int x = 0) : v(x) { born(); }
  Thrower(const Thrower &o) : v(o.v) { born(); }
  Thrower(Thrower &&o) noexcept(false) : v(o.v) { born(); } /* may throw: copies are used */
  Thrower &operator=(const Thrower &o) {
    born();
    live--;
    v = o.v;
    return *this;
  }
  ~Thrower() { live--; }
  static void born() {
    if (countdown > 0 && --countdown == 0) throw std::runtime_error("copy");
    live++;
  }
  bool operator==(const Thrower &o) const { return v == o.v; }
};

// Relocatable, but its constructor throws on demand.
struct RelocThrower {
  long v[3];
  explicit RelocThrower(long x) : v{x, x + 1, x + 2} {
    if (countdown > 0 && --countdown == 0) throw std::runtime_error("ctor");
  }
};
namespace vcm {
template <>
struct is_relocatable<RelocThrower> : std::true_type {};
}  // namespace vcm

struct alignas(64) Wide {
  int v;
};

// ---- vcm::vector -----------------------------------------------------------------------------

template <class V>
static bool same(const V &v, std::initializer_list<int> want) {
  if (v.size() != want.size()) return false;
  size_t i = 0;
  for (int w : want)
    if (!(v[i++] == w)) return false;
  return true;
}

static void test_construct() {
  vcm::vector<int> a;
  CHECK(a.empty() && a.size() == 0 && a.capacity() == 0 && a.data() == nullptr);
  vcm::vector<int> b(5);
  CHECK(same(b, {0, 0, 0, 0, 0}));
  vcm::vector<int> c(3, 7);
  CHECK(same(c, {7, 7, 7}));
  vcm::vector<int> d{1, 2, 3, 4};
  CHECK(same(d, {1, 2, 3, 4}));
  std::list<int> l{5, 6, 7};
  vcm::vector<int> e(l.begin(), l.end());
  CHECK(same(e, {5, 6, 7}));
  std::istringstream in("8 9 10");
  vcm::vector<int> f((std::istream_iterator<int>(in)), std::istream_iterator<int>());
  CHECK(same(f, {8, 9, 10}));
  vcm::vector<std::string> g(2, "xy");
  CHECK(g.size() == 2 && g[1] == "xy");
  // The capacity is the block's: a vcm block, all of it claimed by the vector.
  CHECK(d.capacity() >= 4 && vcm_capacity(d.data()) == d.capacity() * sizeof(int));
  CHECK(vcm_used(d.data()) == vcm_capacity(d.data()));
}

static void test_copy_move() {
  vcm::vector<std::string> a{"one", "two", "three"};
  vcm::vector<std::string> b(a);
  CHECK(a == b && b.data() != a.data());
  const std::string *data = a.data();
  vcm::vector<std::string> c(std::move(a));
  CHECK(c.data() == data && a.empty() && a.capacity() == 0 && c.size() == 3);
  vcm::vector<std::string> d{"x"};
  d = c; /* grows */
  CHECK(d == c);
  d = vcm::vector<std::string>{"p"}; /* shrinks */
  CHECK(d.size() == 1 && d[0] == "p");
  d = std::move(c);
  CHECK(d.size() == 3 && d.data() == data && c.empty());
  vcm::vector<std::string> &alias = d;
  d = alias; /* self-assignment */
  CHECK(d.size() == 3 && d[2] == "three");
  d = {"q", "r"};
  CHECK(d.size() == 2 && d[1] == "r");
  d.assign(4, "z");
  CHECK(d.size() == 4 && d[3] == "z");
  d.assign({"a"});
  CHECK(d.size() == 1 && d[0] == "a");
  d.swap(c);
  CHECK(d.empty() && c.size() == 1);
  swap(c, d);
  CHECK(c.empty() && d.size() == 1);
}

static void test_access_iterators() {
  vcm::vector<int> v{1, 2, 3, 4, 5};
  CHECK(v.front() == 1 && v.back() == 5 && v.at(2) == 3);
  bool threw = false;
  try {
    (void)v.at(5);
  } catch (const std::out_of_range &) {
    threw = true;
  }
  CHECK(threw);
  int sum = 0;
  for (int x : v) sum += x;
  CHECK_EQ(sum, 15);
  vcm::vector<int> r(v.rbegin(), v.rend());
  CHECK(same(r, {5, 4, 3, 2, 1}));
  const vcm::vector<int> &cv = v;
  CHECK(cv.cend() - cv.cbegin() == 5 && *cv.crbegin() == 5 && cv.data() == &cv[0]);
  CHECK(v < r && r > v && v <= v && v >= v && v != r && !(v == r));
  CHECK((vcm::vector<int>{1, 2} < vcm::vector<int>{1, 2, 0}));
}

static void test_growth() {
  vcm::vector<long> v;
  int moves = 0, ok = 1;
  const long *last = nullptr;
  for (long i = 0; i < 200000; i++) {
    v.push_back(i * 7);
    if (v.data() != last) moves++;
    last = v.data();
    ok &= v.capacity() * sizeof(long) == vcm_capacity(v.data());
  }
  CHECK(ok);
  CHECK(moves < 40); /* doubling */
  bool right = true;
  for (long i = 0; i < 200000; i++) right &= v[(size_t)i] == i * 7;
  CHECK(right);
  // Growth past the capacity copies the used bytes only (the allocator is told the length).
  vcm::vector<int> w(100);
  vcm_stats before, after;
  vcm_stats_get(&before);
  w.reserve(4000);
  vcm_stats_get(&after);
  CHECK_EQ(after.bytes_copied - before.bytes_copied, 100 * sizeof(int));
  CHECK(w.size() == 100 && w.capacity() >= 4000);
  // emplace_back and push_back of our own element, across a growth.
  vcm::vector<std::string> s{"alpha"};
  while (s.size() < s.capacity()) s.push_back("x");
  s.push_back(s[0]);
  CHECK(s.back() == "alpha");
  vcm::vector<int> iv(4, 3);
  iv.shrink_to_fit();
  while (iv.size() < iv.capacity()) iv.push_back(1);
  iv.push_back(iv[0]);
  CHECK(iv.back() == 3);
  CHECK(iv.emplace_back(9) == 9);
  // vectors of vectors (relocatable) and of strings (not)
  vcm::vector<vcm::vector<int>> vv;
  for (int i = 0; i < 1000; i++) {
    vv.emplace_back(3, i);
    vv[(size_t)i / 2].push_back(i);
  }
  CHECK(vv.size() == 1000 && vv[999][2] == 999 && vv[10].back() == 21);
  vcm::vector<std::string> strs;
  for (int i = 0; i < 5000; i++) strs.push_back(std::to_string(i) + std::string(i % 40, 'x'));
  CHECK((strs[4999] == "4999" + std::string(4999 % 40, 'x') && strs[17] == "17" + std::string(17, 'x')));
  // standard types marked relocatable move by realloc: each element exactly once, and no
  // destructor runs on the old bytes (a double free would show under ASan)
  static_assert(vcm::is_relocatable<std::unique_ptr<int>>::value, "unique_ptr");
  static_assert(vcm::is_relocatable<std::pair<std::vector<int>, std::shared_ptr<int>>>::value, "pair");
  static_assert(!vcm::is_relocatable<std::string>::value, "string");
  vcm::vector<std::unique_ptr<int>> ups;
  vcm::vector<std::pair<std::vector<int>, std::shared_ptr<int>>> pairs;
  for (int i = 0; i < 3000; i++) {
    ups.push_back(std::make_unique<int>(i));
    pairs.emplace_back(std::vector<int>(3, i), std::make_shared<int>(i));
  }
  bool kept = true;
  for (int i = 0; i < 3000; i++) {
    kept &= *ups[(size_t)i] == i;
    kept &= pairs[(size_t)i].first[2] == i && *pairs[(size_t)i].second == i &&
            pairs[(size_t)i].second.use_count() == 1;
  }
  CHECK(kept);
  vcm::vector<Wide> wide(100);
  wide.push_back(Wide{5});
  CHECK(reinterpret_cast<uintptr_t>(wide.data()) % 64 == 0 && wide.back().v == 5);
}

static void test_modifiers() {
  vcm::vector<int> v{1, 2, 3};
  auto it = v.insert(v.begin() + 1, 9);
  CHECK(*it == 9 && same(v, {1, 9, 2, 3}));
  v.insert(v.end(), 2, 8);
  CHECK(same(v, {1, 9, 2, 3, 8, 8}));
  int arr[] = {4, 5};
  v.insert(v.begin(), arr, arr + 2);
  CHECK(same(v, {4, 5, 1, 9, 2, 3, 8, 8}));
  v.insert(v.begin() + 2, {0, 0});
  CHECK(same(v, {4, 5, 0, 0, 1, 9, 2, 3, 8, 8}));
  it = v.erase(v.begin() + 2, v.begin() + 4);
  CHECK(*it == 1 && same(v, {4, 5, 1, 9, 2, 3, 8, 8}));
  it = v.erase(v.begin());
  CHECK(*it == 5 && same(v, {5, 1, 9, 2, 3, 8, 8}));
  v.emplace(v.begin() + 3, 7);
  CHECK(same(v, {5, 1, 9, 7, 2, 3, 8, 8}));
  v.pop_back();
  CHECK(same(v, {5, 1, 9, 7, 2, 3, 8}));
  v.resize(9, 6);
  CHECK(same(v, {5, 1, 9, 7, 2, 3, 8, 6, 6}));
  v.resize(2);
  CHECK(same(v, {5, 1}));
  size_t cap = v.capacity();
  v.clear();
  CHECK(v.empty() && v.capacity() == cap);
  // insert of an element of the vector itself, with a growth
  vcm::vector<std::string> s{"a", "b", "c", "d"};
  while (s.size() < s.capacity()) s.push_back("z");
  s.insert(s.begin(), s[2]);
  CHECK(s[0] == "c" && s[3] == "c");
  s.insert(s.begin() + 1, 40, s[0]);
  CHECK(s.size() > 40 && s[40] == "c" && s[41] == "a");
  s.resize(s.capacity() + 1, s[41]);
  CHECK(s.back() == "a");
  // shrink_to_fit gives the capacity back
  vcm::vector<int> big(5000);
  big.resize(10);
  big.shrink_to_fit();
  CHECK(big.size() == 10 && big.capacity() < 5000 && big.capacity() >= 10);
  big.clear();
  big.shrink_to_fit();
  CHECK(big.capacity() == 0);
}

static void test_exceptions() {
  // push_back that must grow, and a copy throws while moving the old elements: no effect.
  {
    live = 0;
    vcm::vector<Thrower> v;
    for (int i = 0; i < 10; i++) v.emplace_back(i);
    while (v.size() < v.capacity()) v.emplace_back(1);
    size_t n = v.size(), cap = v.capacity();
    const Thrower *data = v.data();
    countdown = 4;
    bool threw = false;
    try {
      v.push_back(Thrower(42));
    } catch (const std::runtime_error &) {
      threw = true;
    }
    countdown = -1;
    CHECK(threw && v.size() == n && v.capacity() == cap && v.data() == data);
    CHECK(v[3].v == 3 && v[9].v == 9);
    CHECK_EQ(live, (long)n);
  }
  CHECK_EQ(live, 0);
  // reserve whose copies throw: no effect
  {
    vcm::vector<Thrower> v(20, Thrower(4));
    size_t cap = v.capacity();
    const Thrower *data = v.data();
    countdown = 7;
    bool threw = false;
    try {
      v.reserve(cap * 4);
    } catch (const std::runtime_error &) {
      threw = true;
    }
    countdown = -1;
    CHECK(threw && v.size() == 20 && v.capacity() == cap && v.data() == data && v[19].v == 4);
    CHECK_EQ(live, 20);
  }
  CHECK_EQ(live, 0);
  // the new element's own copy throws
  {
    vcm::vector<Thrower> v(3);
    while (v.size() < v.capacity()) v.emplace_back(2);
    size_t n = v.size();
    Thrower t(5);
    countdown = 1;
    bool threw = false;
    try {
      v.push_back(t);
    } catch (const std::runtime_error &) {
      threw = true;
    }
    countdown = -1;
    CHECK(threw && v.size() == n && live == (long)n + 1);
  }
  CHECK_EQ(live, 0);
  // relocatable type: the constructor throws before anything changes
  {
    vcm::vector<RelocThrower> v;
    for (long i = 0; i < 16; i++) v.emplace_back(i);
    while (v.size() < v.capacity()) v.emplace_back(0);
    size_t n = v.size(), cap = v.capacity();
    countdown = 1;
    bool threw = false;
    try {
      v.emplace_back(99);
    } catch (const std::runtime_error &) {
      threw = true;
    }
    countdown = -1;
    CHECK(threw && v.size() == n && v.capacity() == cap && v[15].v[2] == 17);
  }
  // resize, copy construction, assign and insert that throw midway leak nothing
  {
    vcm::vector<Thrower> v(4, Thrower(1));
    countdown = 3;
    bool threw = false;
    try {
      v.resize(50, Thrower(2));
    } catch (const std::runtime_error &) {
      threw = true;
    }
    countdown = -1;
    CHECK(threw && v.size() == 4 && v[3].v == 1);
    CHECK_EQ(live, 4);
    countdown = 3;
    try {
      vcm::vector<Thrower> copy(v);
      CHECK(false);
    } catch (const std::runtime_error &) {
      CHECK_EQ(live, 4);
    }
    countdown = 2;
    try {
      v.insert(v.begin() + 1, 3, Thrower(7));
    } catch (const std::runtime_error &) {
    }
    countdown = -1;
    CHECK_EQ(live, (long)v.size()); /* basic guarantee: valid, nothing leaked */
  }
  CHECK_EQ(live, 0);
  bool threw = false;
  try {
    vcm::vector<int> huge;
    huge.reserve(huge.max_size() + 1);
  } catch (const std::length_error &) {
    threw = true;
  }
  CHECK(threw);
  threw = false;
  try {
    vcm::vector<char> huge;
    huge.reserve(huge.max_size()); /* more than the address space */
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  CHECK(threw);
}

// ---- vcm::allocator in every standard container ------------------------------------------------

template <class C, class F>
static void in_vcm(const char *name, F fill) {
  size_t base = live_chunks();
  {
    C c;
    fill(c);
    if (live_chunks() <= base) fprintf(stderr, "%s: no vcm blocks\n", name);
    CHECK(live_chunks() > base);
  }
  CHECK_EQ(live_chunks(), base);
}

template <class T>
using A = vcm::allocator<T>;

static void test_containers() {
  in_vcm<std::vector<int, A<int>>>("vector", [](auto &c) {
    for (int i = 0; i < 1000; i++) c.push_back(i);
    CHECK(c[999] == 999);
  });
  in_vcm<std::deque<int, A<int>>>("deque", [](auto &c) {
    for (int i = 0; i < 1000; i++) c.push_front(i);
    CHECK(c.front() == 999);
  });
  in_vcm<std::list<int, A<int>>>("list", [](auto &c) {
    for (int i = 0; i < 100; i++) c.push_back(i);
    CHECK(c.size() == 100);
  });
  in_vcm<std::forward_list<int, A<int>>>("forward_list", [](auto &c) {
    for (int i = 0; i < 100; i++) c.push_front(i);
    CHECK(c.front() == 99);
  });
  in_vcm<std::set<int, std::less<int>, A<int>>>("set", [](auto &c) {
    for (int i = 0; i < 100; i++) c.insert(i % 50);
    CHECK(c.size() == 50);
  });
  in_vcm<std::multiset<int, std::less<int>, A<int>>>("multiset", [](auto &c) {
    for (int i = 0; i < 100; i++) c.insert(i % 50);
    CHECK(c.size() == 100);
  });
  using P = std::pair<const int, std::string>;
  in_vcm<std::map<int, std::string, std::less<int>, A<P>>>("map", [](auto &c) {
    for (int i = 0; i < 100; i++) c[i] = std::to_string(i);
    CHECK(c[42] == "42");
  });
  in_vcm<std::multimap<int, int, std::less<int>, A<std::pair<const int, int>>>>("multimap", [](auto &c) {
    for (int i = 0; i < 100; i++) c.emplace(i % 10, i);
    CHECK(c.count(3) == 10);
  });
  in_vcm<std::unordered_set<int, std::hash<int>, std::equal_to<int>, A<int>>>("unordered_set", [](auto &c) {
    for (int i = 0; i < 1000; i++) c.insert(i);
    CHECK(c.count(500) == 1);
  });
  in_vcm<std::unordered_multiset<int, std::hash<int>, std::equal_to<int>, A<int>>>(
      "unordered_multiset", [](auto &c) {
        for (int i = 0; i < 100; i++) c.insert(i % 7);
        CHECK(c.count(3) == 14);
      });
  in_vcm<std::unordered_map<std::string, int, std::hash<std::string>, std::equal_to<std::string>,
                            A<std::pair<const std::string, int>>>>("unordered_map", [](auto &c) {
    for (int i = 0; i < 1000; i++) c[std::to_string(i)] = i;
    CHECK(c["777"] == 777);
  });
  in_vcm<std::unordered_multimap<int, int, std::hash<int>, std::equal_to<int>,
                                 A<std::pair<const int, int>>>>("unordered_multimap", [](auto &c) {
    for (int i = 0; i < 100; i++) c.emplace(i % 5, i);
    CHECK(c.count(4) == 20);
  });
  using S = std::basic_string<char, std::char_traits<char>, A<char>>;
  in_vcm<S>("basic_string", [](auto &c) {
    for (int i = 0; i < 100; i++) c += "0123456789";
    CHECK(c.size() == 1000);
  });
  in_vcm<std::vector<S, A<S>>>("vector of strings", [](auto &c) {
    for (int i = 0; i < 100; i++) c.emplace_back(40, 'x');
    CHECK(c[99].size() == 40);
  });
}

// Allocator propagation: vcm allocators are all equal, so move and swap take the storage.
static void test_propagation() {
  using V = std::vector<int, A<int>>;
  using T = std::allocator_traits<A<int>>;
  static_assert(T::propagate_on_container_move_assignment::value, "move propagates");
  static_assert(T::is_always_equal::value, "stateless");
  A<int> a;
  A<long> b(a); /* rebind */
  CHECK(a == b && !(a != b));
  CHECK(T::select_on_container_copy_construction(a) == a);
  V x{1, 2, 3}, y;
  const int *data = x.data();
  y = std::move(x);
  CHECK(y.data() == data && y.size() == 3);
  V z{9};
  z.swap(y);
  CHECK(z.data() == data && y.size() == 1);
  V w(z, A<int>());
  CHECK(w == z && w.data() != z.data());
  std::list<int, A<int>> l1{1, 2}, l2{3};
  l1.splice(l1.end(), l2); /* splicing needs equal allocators */
  CHECK(l1.size() == 3 && l2.empty());
  // allocate_at_least: the block's real capacity
  auto r = a.allocate_at_least(5);
  CHECK(r.ptr != nullptr && r.count == 8 && vcm_used(r.ptr) == 32);
  a.deallocate(r.ptr, r.count);
  bool threw = false;
  try {
    (void)a.allocate(SIZE_MAX / 2);
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  CHECK(threw);
  A<Wide> aw;
  Wide *pw = aw.allocate(3);
  CHECK(reinterpret_cast<uintptr_t>(pw) % 64 == 0);
  aw.deallocate(pw, 3);
}

int main() {
  test_construct();
  test_copy_move();
  test_access_iterators();
  test_growth();
  test_modifiers();
  test_exceptions();
  test_containers();
  test_propagation();
  return t_report();
}
