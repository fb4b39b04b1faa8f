// cxx_test.cpp - C++17 allocation workout for any malloc implementation.
//
// Exercises operator new/delete (plain, array, sized, aligned, nothrow) and
// the standard containers from 8 threads at once, with objects created in
// one thread and destroyed in another.  Every check compares against a
// value computed independently of the allocator.  Each check prints
// "pass: NAME" or "FAIL: NAME: why"; the last line is "N passed, N failed",
// and the exit status is 1 if anything failed.
//
// A line "checksum: HEX" summarises the deterministic results, so that two
// runs (one per malloc) can be compared.
//
// Build: c++ -std=c++17 -O2 -Wall -Wextra -Werror -fsized-deallocation -pthread
//            -o cxx_test cxx_test.cpp
// (-fsized-deallocation is the default for g++; clang < 17 needs it.)
//
// Options: -t THREADS (default 8), -r ROUNDS per thread (default 20),
//          -s SEED (default 1).

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <queue>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CXX_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CXX_TEST_SANITIZED 1
#endif
#endif
#ifndef CXX_TEST_SANITIZED
#define CXX_TEST_SANITIZED 0
#endif

namespace {

std::mutex out_mu;
std::atomic<unsigned> n_passed{0}, n_failed{0};

void report(const std::string &name, bool ok, const std::string &why = "")
{
    std::lock_guard<std::mutex> g(out_mu);
    if (ok) {
        n_passed++;
        std::printf("pass: %s\n", name.c_str());
    } else {
        n_failed++;
        std::printf("FAIL: %s: %s\n", name.c_str(), why.c_str());
    }
    std::fflush(stdout);
}

// Thrown by CHECK inside a test body; caught by run_check.
struct check_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond))                                                                    \
            throw check_failure(std::string(#cond) + " (line " + std::to_string(__LINE__) + \
                                ")");                                                   \
    } while (0)

// Runs fn, reporting pass/fail.  fn returns a deterministic digest.
uint64_t run_check(const std::string &name, const std::function<uint64_t()> &fn)
{
    try {
        uint64_t d = fn();
        if (std::getenv("CXX_TEST_DEBUG"))
            std::printf("digest %s %016llx\n", name.c_str(), (unsigned long long)d);
        report(name, true);
        return d;
    } catch (const check_failure &e) {
        report(name, false, e.what());
    } catch (const std::bad_alloc &) {
        report(name, false, "std::bad_alloc");
    } catch (const std::exception &e) {
        report(name, false, std::string("exception: ") + e.what());
    }
    return 0;
}

inline uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() { return s = mix(s); }
    uint64_t below(uint64_t n) { return next() % n; }
};

inline uint64_t fold(uint64_t h, uint64_t v) { return mix(h ^ v); }

uint64_t hash_str(const std::string &s)
{
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s)
        h = (h ^ c) * 1099511628211ull;
    return h;
}

// ---------------------------------------------------------------------
// individual workloads; each is deterministic for a given seed

uint64_t t_vector(uint64_t seed)
{
    Rng r(seed);
    const int n = 200000;
    std::vector<int> v;
    for (int i = 0; i < n; i++)
        v.push_back(i);                     // growth by reallocation
    std::vector<int> w(v);
    for (int i = n - 1; i > 0; i--)
        std::swap(w[i], w[r.below(i + 1)]);
    std::sort(w.begin(), w.end());
    CHECK(w == v);
    long long sum = std::accumulate(v.begin(), v.end(), 0LL);
    CHECK(sum == (long long)n * (n - 1) / 2);
    std::vector<std::vector<int>> vv(1000);
    for (int i = 0; i < 1000; i++)
        vv[i].assign(i % 97, i);
    uint64_t h = 0;
    for (int i = 0; i < 1000; i++) {
        CHECK((int)vv[i].size() == i % 97);
        for (int x : vv[i])
            CHECK(x == i);
        h = fold(h, vv[i].size());
    }
    v.resize(10);
    v.shrink_to_fit();
    CHECK(v.capacity() >= 10 && v[9] == 9);
    return fold(h, (uint64_t)sum);
}

uint64_t t_string(uint64_t seed)
{
    Rng r(seed);
    std::string s;
    for (int i = 0; i < 20000; i++)
        s += std::to_string(i) + ",";
    uint64_t h = hash_str(s);
    // sizes around the small-string boundary and beyond
    std::vector<std::string> strs;
    for (int len = 0; len < 300; len++)
        strs.emplace_back((size_t)len, (char)('a' + len % 26));
    for (int len = 0; len < 300; len++) {
        CHECK(strs[len].size() == (size_t)len);
        CHECK(strs[len].find_first_not_of((char)('a' + len % 26)) == std::string::npos);
    }
    std::ostringstream os;
    for (int i = 0; i < 5000; i++)
        os << i * 7 << ' ';
    std::istringstream is(os.str());
    long long x, total = 0;
    int cnt = 0;
    while (is >> x) {
        CHECK(x == cnt * 7LL);
        total += x;
        cnt++;
    }
    CHECK(cnt == 5000);
    // many concatenations and substr of random lengths
    std::string big;
    for (int i = 0; i < 3000; i++) {
        std::string piece((size_t)r.below(200), (char)('A' + i % 26));
        big += piece;
        if (big.size() > 100000)
            big = big.substr(big.size() / 2);
    }
    h = fold(h, hash_str(big));
    return fold(h, (uint64_t)total);
}

uint64_t t_map(uint64_t seed)
{
    Rng r(seed);
    std::map<int, std::string> m;
    std::vector<int> keys;
    for (int i = 0; i < 50000; i++) {
        int k = (int)r.below(1000000);
        m[k] = std::to_string(k);
        keys.push_back(k);
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    CHECK(m.size() == keys.size());
    size_t i = 0;
    for (auto &kv : m) {
        CHECK(kv.first == keys[i]);
        CHECK(kv.second == std::to_string(keys[i]));
        i++;
    }
    for (size_t j = 0; j < keys.size(); j += 2)
        m.erase(keys[j]);
    CHECK(m.size() == keys.size() / 2);
    std::multimap<std::string, int> mm;
    for (int j = 0; j < 20000; j++)
        mm.emplace("k" + std::to_string(j % 1000), j);
    CHECK(mm.count("k7") == 20);
    std::set<std::string> st;
    for (auto &kv : m)
        st.insert(kv.second);
    CHECK(st.size() == m.size());
    uint64_t h = 0;
    for (auto &kv : m)
        h = fold(h, (uint64_t)kv.first);
    return h;
}

uint64_t t_unordered(uint64_t seed)
{
    Rng r(seed);
    std::unordered_map<std::string, std::vector<int>> um;
    for (int i = 0; i < 40000; i++) {
        std::string k = "key-" + std::to_string(r.below(20000));
        um[k].push_back(i);               // rehash while growing
    }
    size_t total = 0;
    for (auto &kv : um)
        total += kv.second.size();
    CHECK(total == 40000);
    std::unordered_set<uint64_t> us;
    for (uint64_t i = 0; i < 100000; i++)
        us.insert(mix(i));
    CHECK(us.size() == 100000);
    for (uint64_t i = 0; i < 100000; i += 3)
        us.erase(mix(i));
    CHECK(us.size() == 100000 - 33334);
    CHECK(us.count(mix(1)) == 1 && us.count(mix(3)) == 0);
    um.clear();
    um.rehash(0);
    // order-independent digest
    uint64_t h = 0;
    for (uint64_t v : us)
        h += mix(v);
    return h;
}

uint64_t t_deque_list(uint64_t seed)
{
    Rng r(seed);
    std::deque<std::string> d;
    long long expect_front = 0, expect_back = -1;
    for (int i = 0; i < 100000; i++) {
        switch (r.below(4)) {
        case 0: d.push_back(std::to_string(++expect_back)); break;
        case 1: d.push_front(std::to_string(--expect_front)); break;
        case 2:
            if (!d.empty()) {
                CHECK(d.front() == std::to_string(expect_front));
                d.pop_front();
                expect_front++;
            }
            break;
        default:
            if (!d.empty()) {
                CHECK(d.back() == std::to_string(expect_back));
                d.pop_back();
                expect_back--;
            }
            break;
        }
        if (d.empty()) {
            expect_front = 0;
            expect_back = -1;
        }
    }
    CHECK((long long)d.size() == expect_back - expect_front + 1);
    std::list<int> l;
    for (int i = 0; i < 50000; i++)
        l.push_back((int)r.below(100000));
    l.sort();
    CHECK(std::is_sorted(l.begin(), l.end()));
    std::priority_queue<int> pq(l.begin(), l.end());
    int prev = pq.top();
    uint64_t h = 0;
    while (!pq.empty()) {
        CHECK(pq.top() <= prev);
        prev = pq.top();
        h = fold(h, (uint64_t)prev);
        pq.pop();
    }
    return fold(h, d.size());
}

struct Node {
    uint64_t v;
    std::shared_ptr<Node> next;
    std::weak_ptr<Node> prev;
    explicit Node(uint64_t x) : v(x) {}
};

uint64_t t_shared_ptr(uint64_t seed)
{
    Rng r(seed);
    std::shared_ptr<Node> head;
    for (int i = 0; i < 20000; i++) {
        auto n = std::make_shared<Node>(r.next());
        if (head)
            head->prev = n;
        n->next = head;
        head = n;
    }
    uint64_t h = 0;
    int count = 0;
    // unlink iteratively (a long recursive destructor chain would be deep)
    while (head) {
        h = fold(h, head->v);
        count++;
        head = std::move(head->next);
    }
    CHECK(count == 20000);
    std::vector<std::shared_ptr<std::string>> v;
    for (int i = 0; i < 10000; i++)
        v.push_back(std::shared_ptr<std::string>(new std::string(50, 'x')));
    auto copy = v;
    CHECK(v[5].use_count() == 2);
    v.clear();
    CHECK(copy[5].use_count() == 1 && *copy[5] == std::string(50, 'x'));
    std::unique_ptr<int[]> arr(new int[12345]());
    for (int i = 0; i < 12345; i++)
        CHECK(arr[i] == 0);
    return h;
}

struct alignas(64) Cache {
    unsigned char bytes[64];
    uint64_t tag;
    Cache() : tag(0xCAC4E) { std::memset(bytes, 0x64, sizeof bytes); }
};
static_assert(alignof(Cache) == 64, "Cache must be 64-aligned");

struct alignas(256) Wide {
    uint64_t v[40];
};

struct Page {
    unsigned char b[4096];
};

template <class T> bool aligned(const T *p, size_t a) { return (uintptr_t)p % a == 0; }

uint64_t t_aligned_new(uint64_t seed)
{
    Rng r(seed);
    uint64_t h = 0;
    // over-aligned types: new uses operator new(size, align_val_t)
    std::vector<Cache *> cs;
    for (int i = 0; i < 2000; i++) {
        cs.push_back(new Cache);
        CHECK(aligned(cs.back(), 64));
    }
    for (Cache *c : cs) {
        CHECK(c->tag == 0xCAC4E && c->bytes[63] == 0x64);
        delete c;                          // sized + aligned delete
    }
    Cache *arr = new Cache[333];
    CHECK(aligned(arr, 64));
    for (int i = 0; i < 333; i++)
        CHECK(arr[i].tag == 0xCAC4E);
    delete[] arr;
    std::vector<Wide> wv(500);            // allocator honours alignof(Wide)
    CHECK(aligned(wv.data(), 256));
    for (size_t i = 0; i < wv.size(); i++)
        wv[i].v[0] = i;
    wv.resize(3000);
    CHECK(aligned(wv.data(), 256) && wv[499].v[0] == 499);
    // explicit alignment values up to 4096 and beyond
    for (size_t a = 1; a <= 65536; a *= 2) {
        size_t n = 1 + (size_t)r.below(3 * a + 100);
        void *p = ::operator new(n, std::align_val_t(a));
        CHECK(aligned((char *)p, a));
        std::memset(p, 0x7F, n);
        ::operator delete(p, n, std::align_val_t(a));
        h = fold(h, n);
    }
    unsigned char *pg = new (std::align_val_t(4096)) unsigned char[3 * 4096 + 17];
    CHECK(aligned(pg, 4096));
    std::memset(pg, 1, 3 * 4096 + 17);
    ::operator delete[](pg, std::align_val_t(4096));
    void *q = ::operator new(100, std::align_val_t(4096), std::nothrow);
    CHECK(q && aligned((char *)q, 4096));
    ::operator delete(q, std::align_val_t(4096), std::nothrow);
    Page *page = new (std::align_val_t(4096)) Page;
    CHECK(aligned(page, 4096));
    page->b[4095] = 9;
    page->~Page();
    ::operator delete(page, sizeof(Page), std::align_val_t(4096));
    return h;
}

// results stored here cannot be optimised away
[[maybe_unused]] char *volatile sink;

uint64_t t_sized_delete(uint64_t seed)
{
    Rng r(seed);
    uint64_t h = 0;
    std::vector<std::pair<void *, size_t>> blocks;
    for (int i = 0; i < 20000; i++) {
        size_t n = 1 + (size_t)r.below(i % 100 == 0 ? 1 << 20 : 512);
        unsigned char *p = static_cast<unsigned char *>(::operator new(n));
        std::memset(p, (int)(n & 0xFF), n);
        blocks.emplace_back(p, n);
        if (r.below(3) == 0) {
            size_t k = (size_t)r.below(blocks.size());
            auto b = blocks[k];
            unsigned char *bp = static_cast<unsigned char *>(b.first);
            CHECK(bp[0] == (unsigned char)(b.second & 0xFF));
            CHECK(bp[b.second - 1] == (unsigned char)(b.second & 0xFF));
            ::operator delete(b.first, b.second);   // sized delete
            blocks[k] = blocks.back();
            blocks.pop_back();
        }
        h = fold(h, n);
    }
    for (auto &b : blocks) {
        unsigned char *bp = static_cast<unsigned char *>(b.first);
        CHECK(bp[b.second / 2] == (unsigned char)(b.second & 0xFF));
        ::operator delete(b.first, b.second);
    }
    // array new/delete of a type with a destructor (cookie in front)
    std::string *sa = new std::string[1000];
    for (int i = 0; i < 1000; i++)
        sa[i] = std::string((size_t)i, 'q');
    CHECK(sa[999].size() == 999);
    delete[] sa;
    // nothrow new, and bad_alloc for an impossible request
    int *ip = new (std::nothrow) int[1000];
    CHECK(ip != nullptr);
    delete[] ip;
#if !CXX_TEST_SANITIZED
    // (sanitizer runtimes abort instead of throwing for impossible sizes)
    bool threw = false;
    volatile size_t huge = (size_t)1 << 62;
    try {
        char *big = new char[huge];
        sink = big;                        // keep the pair from being elided
        delete[] big;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw);
    char *nt = new (std::nothrow) char[huge];
    sink = nt;
    CHECK(nt == nullptr);
#endif
    return h;
}

uint64_t t_exceptions(uint64_t seed)
{
    // exception objects are allocated with malloc by the C++ runtime
    uint64_t h = seed;
    int caught = 0;
    for (int i = 0; i < 5000; i++) {
        try {
            if (i % 2)
                throw std::runtime_error(std::string((size_t)(i % 300), 'e'));
            throw std::vector<int>((size_t)(i % 50), i);
        } catch (const std::runtime_error &e) {
            CHECK(std::strlen(e.what()) == (size_t)(i % 300));
            caught++;
        } catch (const std::vector<int> &v) {
            CHECK(v.size() == (size_t)(i % 50));
            caught++;
        }
        h = fold(h, (uint64_t)i);
    }
    CHECK(caught == 5000);
    return h;
}

// All single-threaded workloads, returning one digest.
uint64_t run_battery(uint64_t seed, const std::string &who)
{
    uint64_t h = 0;
    h = fold(h, run_check(who + " vector", [&] { return t_vector(seed); }));
    h = fold(h, run_check(who + " string", [&] { return t_string(seed); }));
    h = fold(h, run_check(who + " map", [&] { return t_map(seed); }));
    h = fold(h, run_check(who + " unordered_map", [&] { return t_unordered(seed); }));
    h = fold(h, run_check(who + " deque/list", [&] { return t_deque_list(seed); }));
    h = fold(h, run_check(who + " shared_ptr", [&] { return t_shared_ptr(seed); }));
    h = fold(h, run_check(who + " aligned new", [&] { return t_aligned_new(seed); }));
    h = fold(h, run_check(who + " sized delete", [&] { return t_sized_delete(seed); }));
    h = fold(h, run_check(who + " exceptions", [&] { return t_exceptions(seed); }));
    return h;
}

// ---------------------------------------------------------------------
// cross-thread: producers build objects, consumers (other threads) check
// and destroy them

struct Msg {
    uint64_t id;
    std::string text;
    std::vector<uint64_t> data;
    std::unique_ptr<Cache> aligned;
};

// Unbounded queue of owned messages and shared pointers.
class Channel {
  public:
    void push(std::unique_ptr<Msg> m)
    {
        std::lock_guard<std::mutex> g(mu_);
        q_.push_back(std::move(m));
        cv_.notify_one();
    }
    void push_shared(std::shared_ptr<const std::vector<std::string>> s)
    {
        std::lock_guard<std::mutex> g(mu_);
        shared_.push_back(std::move(s));
        cv_.notify_one();
    }
    // Takes one item; waits for one if `wait`, else returns false when empty.
    bool pop(std::unique_ptr<Msg> &m, std::shared_ptr<const std::vector<std::string>> &s,
             bool wait)
    {
        std::unique_lock<std::mutex> g(mu_);
        if (wait)
            cv_.wait(g, [&] { return !q_.empty() || !shared_.empty(); });
        if (!q_.empty()) {
            m = std::move(q_.front());
            q_.pop_front();
            return true;
        }
        if (!shared_.empty()) {
            s = std::move(shared_.front());
            shared_.pop_front();
            return true;
        }
        return false;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<Msg>> q_;
    std::deque<std::shared_ptr<const std::vector<std::string>>> shared_;
};

std::unique_ptr<Msg> make_msg(uint64_t id)
{
    auto m = std::make_unique<Msg>();
    m->id = id;
    m->text = std::string((size_t)(mix(id) % 500), (char)('a' + id % 26));
    m->data.resize((size_t)(mix(id + 1) % 2000));
    for (size_t i = 0; i < m->data.size(); i++)
        m->data[i] = mix(id ^ i);
    if (id % 3 == 0)
        m->aligned.reset(new Cache);
    return m;
}

bool check_msg(const Msg &m)
{
    if (m.text.size() != mix(m.id) % 500)
        return false;
    if (!m.text.empty() && m.text.find_first_not_of((char)('a' + m.id % 26)) != std::string::npos)
        return false;
    if (m.data.size() != mix(m.id + 1) % 2000)
        return false;
    for (size_t i = 0; i < m.data.size(); i++)
        if (m.data[i] != mix(m.id ^ i))
            return false;
    if (m.id % 3 == 0)
        return m.aligned && aligned(m.aligned.get(), 64) && m.aligned->tag == 0xCAC4E;
    return !m.aligned;
}

} // namespace

int main(int argc, char **argv)
{
    unsigned threads = 8, rounds = 20;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if ((a == "-t" || a == "-r" || a == "-s") && i + 1 < argc) {
            unsigned long long v = std::strtoull(argv[++i], nullptr, 0);
            if (a == "-t")
                threads = (unsigned)v;
            else if (a == "-r")
                rounds = (unsigned)v;
            else
                seed = v;
        } else {
            std::fprintf(stderr, "usage: %s [-t THREADS] [-r ROUNDS] [-s SEED]\n", argv[0]);
            return 2;
        }
    }
    if (threads == 0)
        threads = 1;
    // which library answers malloc (and so, through libstdc++, operator new)
    Dl_info info;
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    std::printf("malloc from: %s\n", m && dladdr(m, &info) && info.dli_fname ? info.dli_fname : "?");
    std::printf("cxx_test: threads=%u rounds=%u seed=%llu\n", threads, rounds,
                (unsigned long long)seed);

    // 1. reference digest from the main thread alone
    const uint64_t ref = run_battery(seed, "main");

    // 2. every thread runs the same battery concurrently; all digests must
    //    equal the reference
    {
        std::vector<uint64_t> got(threads, 0);
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < threads; t++)
            ts.emplace_back([&, t] { got[t] = run_battery(seed, "thread " + std::to_string(t)); });
        for (auto &th : ts)
            th.join();
        bool same = true;
        for (unsigned t = 0; t < threads; t++)
            same = same && got[t] == ref;
        report("concurrent batteries agree", same, "a thread computed a different digest");
    }

    // 3. cross-thread ownership: thread t builds messages for thread t+1
    //    and, at the same time, checks and destroys those of thread t-1
    {
        std::vector<Channel> ch(threads);
        std::atomic<uint64_t> consumed{0}, bad{0}, xsum{0};
        const uint64_t per = 100ull * rounds + 1;       // messages per thread
        const uint64_t per_shared = (per + 99) / 100;   // shared_ptrs per thread
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < threads; t++) {
            ts.emplace_back([&, t] {
                Channel &out = ch[(t + 1) % threads];
                Channel &in = ch[t];
                uint64_t got = 0, got_shared = 0;
                auto take = [&](bool wait) {
                    std::unique_ptr<Msg> m;
                    std::shared_ptr<const std::vector<std::string>> s;
                    if (!in.pop(m, s, wait))
                        return false;
                    if (m) {
                        if (!check_msg(*m))
                            bad++;
                        xsum += mix(m->id);
                        got++;
                        m.reset();                  // freed by another thread
                    }
                    if (s) {
                        if (s->size() != 100 || (*s)[42] != "42")
                            bad++;
                        got_shared++;
                        s.reset();                  // maybe the last reference
                    }
                    return true;
                };
                auto shared = std::make_shared<std::vector<std::string>>();
                for (int i = 0; i < 100; i++)
                    shared->push_back(std::to_string(i));
                for (uint64_t i = 0; i < per; i++) {
                    out.push(make_msg(((uint64_t)t << 32) | i));
                    if (i % 100 == 0)
                        out.push_shared(shared);
                    while (take(false))
                        ;
                }
                shared.reset();
                while (got < per || got_shared < per_shared)
                    take(true);
                consumed += got;
            });
        }
        for (auto &th : ts)
            th.join();
        uint64_t expect = 0;
        for (unsigned t = 0; t < threads; t++)
            for (uint64_t i = 0; i < per; i++)
                expect += mix(((uint64_t)t << 32) | i);
        report("cross-thread messages delivered", consumed.load() == per * threads,
               std::to_string(consumed.load()) + " of " + std::to_string(per * threads));
        report("cross-thread messages intact", bad.load() == 0 && xsum.load() == expect,
               std::to_string(bad.load()) + " damaged");
    }

    // 4. shared_ptr hammering: many threads copy and drop the same pointers
    {
        std::vector<std::shared_ptr<std::vector<int>>> pool;
        for (int i = 0; i < 64; i++)
            pool.push_back(std::make_shared<std::vector<int>>(1000, i));
        std::mutex pmu;
        std::atomic<uint64_t> bad{0};
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < threads; t++) {
            ts.emplace_back([&, t] {
                Rng r(seed + t);
                for (unsigned it = 0; it < 5000u * rounds / 20 + 1; it++) {
                    size_t k = (size_t)r.below(64);
                    std::shared_ptr<std::vector<int>> mine;
                    {
                        std::lock_guard<std::mutex> g(pmu);
                        mine = pool[k];
                        if (r.below(8) == 0)  // replace: the old one dies wherever
                            pool[k] = std::make_shared<std::vector<int>>(1000, (int)k);
                    }
                    if (mine->size() != 1000 || (*mine)[999] != (int)k)
                        bad++;
                }
            });
        }
        for (auto &th : ts)
            th.join();
        report("shared_ptr pool", bad.load() == 0, std::to_string(bad.load()) + " bad reads");
    }

    std::printf("checksum: %016llx\n", (unsigned long long)ref);
    std::printf("%u passed, %u failed\n", n_passed.load(), n_failed.load());
    return n_failed.load() ? 1 : 0;
}
