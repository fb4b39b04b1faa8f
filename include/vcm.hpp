// vcm for C++ (C++17 and later, header only; link libvcm): vcm::allocator<T> for any standard
// container, and vcm::vector<T>, a std::vector whose storage is a vcm block.
//
// vcm::vector<T> differs from std::vector<T, vcm::allocator<T>> in how it grows:
//  - its capacity is the block's real capacity (a power of two), so growth within it never
//    allocates; past 256 KiB (a block of its own mapping, whose unwritten pages cost no memory)
//    it grows 16-fold on 64-bit systems instead of 2-fold;
//  - past it, a relocatable T (trivially copyable, or marked with vcm::is_relocatable) moves
//    with vcm_realloc: small blocks copy the used bytes only (the allocator is told the length
//    first), large blocks remap their pages and copy nothing. Other types move element by
//    element into a new block, as std::vector does.
// Guarantees are std::vector's: push_back, emplace_back and reserve have no effect if an
// exception is thrown (strong guarantee; for a T whose move constructor may throw and that is
// not copyable, as std::vector, only the basic one); resize leaves the elements as they were
// but may have grown the capacity (it reserves first); insert and erase in the middle give
// the basic guarantee. Iterator invalidation is std::vector's: growth past capacity() invalidates
// every iterator, pointer and reference; otherwise insert/erase/pop_back invalidate those at
// and after the point changed. Allocation failure throws std::bad_alloc.
// Complexity as std::vector's: push_back amortised O(1), a growth O(size) element moves (or
// one remap). Thread safety as the standard library's: vcm::allocator may be used from any
// thread (vcm's process heap is thread-safe); a vector is used by one thread at a time, or
// only read by many.
#ifndef VCM_HPP
#define VCM_HPP

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "vcm.h"

namespace vcm {

#if defined(__cpp_lib_allocate_at_least) && __cpp_lib_allocate_at_least >= 202302L
template <class P>
using allocation_result = std::allocation_result<P, std::size_t>;
#else
template <class P>
struct allocation_result { /* std::allocation_result before C++23 */
  P ptr;
  std::size_t count;
};
#endif

// A stateless allocator over the process heap: every instance equals every other, so containers
// may swap and move storage between any two of them.
template <class T>
struct allocator {
  using value_type = T;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::true_type;

  constexpr allocator() noexcept = default;
  template <class U>
  constexpr allocator(const allocator<U> &) noexcept {}

  [[nodiscard]] T *allocate(std::size_t n) { return static_cast<T *>(get(n)); }
  void deallocate(T *p, std::size_t) noexcept { vcm_free(p); }

  // At least n elements: the block's real capacity (C++23 containers use it through
  // std::allocator_traits). vcm_malloc_usable_size also tells vcm the container may use it all.
  [[nodiscard]] allocation_result<T *> allocate_at_least(std::size_t n) {
    void *p = get(n);
    return {static_cast<T *>(p), vcm_malloc_usable_size(p) / sizeof(T)};
  }

  template <class U>
  friend constexpr bool operator==(const allocator &, const allocator<U> &) noexcept {
    return true;
  }
  template <class U>
  friend constexpr bool operator!=(const allocator &, const allocator<U> &) noexcept {
    return false;
  }

 private:
  static void *get(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    void *p = alignof(T) > alignof(std::max_align_t) ? vcm_aligned_alloc(alignof(T), n * sizeof(T))
                                                      : vcm_malloc(n * sizeof(T));
    if (!p) throw std::bad_alloc();
    return p;
  }
};

// T may be moved to another address by copying its bytes (and not destroying the original).
// True for trivially copyable types and vcm::vector; specialise it for other types that are.
template <class T>
struct is_relocatable : std::is_trivially_copyable<T> {};

template <class T>
class vector;
template <class T>
struct is_relocatable<vector<T>> : std::true_type {};
// Standard types that hold no pointer into themselves in libstdc++, libc++ and MSVC's library
// (the list of P1144 and folly). Not std::string (short strings point into themselves), nor
// node-based containers with an embedded sentinel (list, map, set).
template <class T, class D>
struct is_relocatable<std::unique_ptr<T, D>> : is_relocatable<D> {};
template <class T>
struct is_relocatable<std::default_delete<T>> : std::true_type {};
template <class T>
struct is_relocatable<std::shared_ptr<T>> : std::true_type {};
template <class T>
struct is_relocatable<std::vector<T, std::allocator<T>>> : std::true_type {};
template <class T>
struct is_relocatable<std::vector<T, allocator<T>>> : std::true_type {};
template <class A, class B>
struct is_relocatable<std::pair<A, B>>
    : std::integral_constant<bool, is_relocatable<A>::value && is_relocatable<B>::value> {};

template <class T>
class vector {
  static_assert(!std::is_const<T>::value && !std::is_reference<T>::value, "vector of objects");

 public:
  using value_type = T;
  using allocator_type = allocator<T>;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using reference = T &;
  using const_reference = const T &;
  using pointer = T *;
  using const_pointer = const T *;
  using iterator = T *;
  using const_iterator = const T *;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  vector() noexcept = default;
  explicit vector(size_type n) { resize(n); }
  vector(size_type n, const T &value) { assign(n, value); }
  template <class It, class = typename std::iterator_traits<It>::iterator_category>
  vector(It first, It last) {
    assign(first, last);
  }
  vector(std::initializer_list<T> il) { assign(il.begin(), il.end()); }
  vector(const vector &o) { assign(o.begin(), o.end()); }
  vector(vector &&o) noexcept : b_(o.b_), e_(o.e_), c_(o.c_) { o.b_ = o.e_ = o.c_ = nullptr; }
  ~vector() {
    destroy(b_, e_);
    vcm_free(b_);
  }

  vector &operator=(const vector &o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  vector &operator=(vector &&o) noexcept {
    vector(std::move(o)).swap(*this);
    return *this;
  }
  vector &operator=(std::initializer_list<T> il) {
    assign(il.begin(), il.end());
    return *this;
  }

  // assign gives the basic guarantee (as std::vector's).
  void assign(size_type n, const T &value) {
    if (n > capacity()) {
      vector t;
      t.reserve(n);
      for (size_type i = 0; i < n; i++) t.emplace_back(value);
      swap(t);
      return;
    }
    size_type k = std::min(n, size());
    std::fill_n(b_, k, value);
    if (n > k) e_ = std::uninitialized_fill_n(e_, n - k, value);
    else truncate(b_ + n);
  }
  template <class It, class = typename std::iterator_traits<It>::iterator_category>
  void assign(It first, It last) {
    using cat = typename std::iterator_traits<It>::iterator_category;
    if constexpr (std::is_base_of<std::forward_iterator_tag, cat>::value) {
      size_type n = static_cast<size_type>(std::distance(first, last));
      if (n > capacity()) {
        vector t;
        t.reserve(n);
        t.e_ = std::uninitialized_copy(first, last, t.b_);
        swap(t);
        return;
      }
      iterator p = b_;
      for (; first != last && p != e_; ++first, ++p) *p = *first;
      if (p != e_) truncate(p);
      else e_ = std::uninitialized_copy(first, last, e_);
    } else {
      clear();
      for (; first != last; ++first) emplace_back(*first);
    }
  }
  void assign(std::initializer_list<T> il) { assign(il.begin(), il.end()); }
  allocator_type get_allocator() const noexcept { return {}; }

  // Element access. at() throws std::out_of_range; [] is unchecked.
  reference at(size_type i) { return b_[check(i)]; }
  const_reference at(size_type i) const { return b_[check(i)]; }
  reference operator[](size_type i) noexcept { return b_[i]; }
  const_reference operator[](size_type i) const noexcept { return b_[i]; }
  reference front() noexcept { return *b_; }
  const_reference front() const noexcept { return *b_; }
  reference back() noexcept { return e_[-1]; }
  const_reference back() const noexcept { return e_[-1]; }
  T *data() noexcept { return b_; }
  const T *data() const noexcept { return b_; }

  iterator begin() noexcept { return b_; }
  const_iterator begin() const noexcept { return b_; }
  const_iterator cbegin() const noexcept { return b_; }
  iterator end() noexcept { return e_; }
  const_iterator end() const noexcept { return e_; }
  const_iterator cend() const noexcept { return e_; }
  reverse_iterator rbegin() noexcept { return reverse_iterator(e_); }
  const_reverse_iterator rbegin() const noexcept { return const_reverse_iterator(e_); }
  const_reverse_iterator crbegin() const noexcept { return const_reverse_iterator(e_); }
  reverse_iterator rend() noexcept { return reverse_iterator(b_); }
  const_reverse_iterator rend() const noexcept { return const_reverse_iterator(b_); }
  const_reverse_iterator crend() const noexcept { return const_reverse_iterator(b_); }

  [[nodiscard]] bool empty() const noexcept { return b_ == e_; }
  size_type size() const noexcept { return static_cast<size_type>(e_ - b_); }
  size_type capacity() const noexcept { return static_cast<size_type>(c_ - b_); }
  static constexpr size_type max_size() noexcept {
    return static_cast<size_type>(std::numeric_limits<difference_type>::max()) / sizeof(T);
  }

  // Capacity at least n (strong guarantee). Growth moves the block (see the top).
  void reserve(size_type n) {
    if (n > capacity()) grow_to(n);
  }
  // Capacity down to the size, when a smaller block fits it.
  void shrink_to_fit() {
    if (e_ == b_) {
      vector().swap(*this);
    } else if (size() < capacity()) {
      T *c, *p = alloc_block(size(), c);
      if (c - p >= c_ - b_) { /* the same class: nothing to gain */
        vcm_free(p);
        return;
      }
      adopt(p, transfer_or_free(p), c);
    }
  }
  void clear() noexcept { truncate(b_); }

  void push_back(const T &x) { emplace_back(x); }
  void push_back(T &&x) { emplace_back(std::move(x)); }
  template <class... A>
  reference emplace_back(A &&...a) {
    if (e_ != c_) {
      ::new (static_cast<void *>(e_)) T(std::forward<A>(a)...);
      return *e_++;
    }
    return grow_emplace(std::forward<A>(a)...);
  }
  void pop_back() noexcept { (--e_)->~T(); }

  void resize(size_type n) { resize_with(n, [](T *p) { ::new (static_cast<void *>(p)) T(); }); }
  void resize(size_type n, const T &v) {
    if (n > capacity()) { /* v may be one of ours: copy it before the block moves */
      T copy(v);
      resize_with(n, [&](T *p) { ::new (static_cast<void *>(p)) T(copy); });
    } else {
      resize_with(n, [&](T *p) { ::new (static_cast<void *>(p)) T(v); });
    }
  }

  // insert/emplace: the new elements go at the end, then rotate into place.
  template <class... A>
  iterator emplace(const_iterator pos, A &&...a) {
    size_type at = index(pos);
    emplace_back(std::forward<A>(a)...);
    std::rotate(b_ + at, e_ - 1, e_);
    return b_ + at;
  }
  iterator insert(const_iterator pos, const T &x) { return emplace(pos, x); }
  iterator insert(const_iterator pos, T &&x) { return emplace(pos, std::move(x)); }
  iterator insert(const_iterator pos, size_type n, const T &x) {
    size_type at = index(pos), old = size();
    if (n == 0) return b_ + at;
    T copy(x); /* x may be one of ours */
    reserve(checked_add(old, n));
    for (size_type i = 0; i < n; i++) emplace_back(copy);
    std::rotate(b_ + at, b_ + old, e_);
    return b_ + at;
  }
  template <class It, class = typename std::iterator_traits<It>::iterator_category>
  iterator insert(const_iterator pos, It first, It last) {
    size_type at = index(pos), old = size();
    using cat = typename std::iterator_traits<It>::iterator_category;
    if constexpr (std::is_base_of<std::forward_iterator_tag, cat>::value)
      reserve(checked_add(old, static_cast<size_type>(std::distance(first, last))));
    for (; first != last; ++first) emplace_back(*first);
    std::rotate(b_ + at, b_ + old, e_);
    return b_ + at;
  }
  iterator insert(const_iterator pos, std::initializer_list<T> il) {
    return insert(pos, il.begin(), il.end());
  }

  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    iterator f = b_ + index(first), l = b_ + index(last);
    if (f != l) truncate(std::move(l, e_, f));
    return f;
  }

  void swap(vector &o) noexcept {
    std::swap(b_, o.b_);
    std::swap(e_, o.e_);
    std::swap(c_, o.c_);
  }
  friend void swap(vector &a, vector &b) noexcept { a.swap(b); }

  friend bool operator==(const vector &a, const vector &b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const vector &a, const vector &b) { return !(a == b); }
  friend bool operator<(const vector &a, const vector &b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator>(const vector &a, const vector &b) { return b < a; }
  friend bool operator<=(const vector &a, const vector &b) { return !(b < a); }
  friend bool operator>=(const vector &a, const vector &b) { return !(a < b); }

 private:
  T *b_ = nullptr, *e_ = nullptr, *c_ = nullptr; /* begin, end, end of capacity */

  // realloc keeps alignments up to max_align_t (and chunks are aligned to their capacity).
  static constexpr bool by_realloc =
      is_relocatable<T>::value && alignof(T) <= alignof(std::max_align_t);

  static void destroy(T *f, T *l) noexcept {
    if constexpr (!std::is_trivially_destructible<T>::value)
      for (; f != l; ++f) f->~T();
  }
  void truncate(T *p) noexcept {
    destroy(p, e_);
    e_ = p;
  }
  size_type check(size_type i) const {
    if (i >= size()) throw std::out_of_range("vcm::vector::at");
    return i;
  }
  size_type index(const_iterator p) const noexcept { return static_cast<size_type>(p - b_); }
  static size_type checked_add(size_type a, size_type n) {
    if (n > max_size() - a) throw std::length_error("vcm::vector");
    return a + n;
  }
  // Blocks are asked for in powers of two (at least 16 bytes): the capacities vcm gives (vcm.h),
  // so a block's used size is its whole capacity (the vector may write all of it, and
  // VCM_CHECK has no slack to check) with no query. n >= 1 elements.
  static size_type block_bytes(size_type n) {
    if (n > max_size()) throw std::length_error("vcm::vector");
    size_type want = n * sizeof(T), bytes = 16;
    while (bytes < want) bytes <<= 1;
    return bytes;
  }
  static T *alloc_block(size_type n, T *&cap_end) {
    size_type bytes = block_bytes(n);
    void *p = alignof(T) > alignof(std::max_align_t) ? vcm_aligned_alloc(alignof(T), bytes)
                                                      : vcm_malloc(bytes);
    if (!p) throw std::bad_alloc();
    cap_end = static_cast<T *>(p) + bytes / sizeof(T);
    return static_cast<T *>(p);
  }
  // Capacity for growth to need elements: twice the capacity; past 256 KiB, where a block is
  // its own mapping and pages never written cost address space only (vcm.h), 16 times on
  // 64-bit systems: a sixteenth of the moves for the same RSS (the RSS is the pages written).
  size_type grown(size_type need) const {
    size_type c = capacity();
    size_type f = sizeof(void *) >= 8 && c * sizeof(T) >= (size_type(256) << 10) ? 16 : 2;
    return std::max(need, c > max_size() / f ? max_size() : c * f);
  }
  // Move [f, l) into raw storage at d: move_if_noexcept, undone (destroyed) if one throws.
  static T *move_into(T *f, T *l, T *d) {
    if constexpr (std::is_trivially_copyable<T>::value) {
      if (f != l) std::memcpy(static_cast<void *>(d), f, static_cast<size_type>(l - f) * sizeof(T));
      return d + (l - f);
    } else {
      T *p = d;
      try {
        for (; f != l; ++f, ++p) ::new (static_cast<void *>(p)) T(std::move_if_noexcept(*f));
      } catch (...) {
        destroy(d, p);
        throw;
      }
      return p;
    }
  }
  // The elements into the new block p; returns p's new end. A move that cannot throw goes in
  // one pass, each element destroyed as it leaves (e_ = b_ after); else copies (strong
  // guarantee): if one throws, *this is unchanged.
  T *transfer(T *p) {
    if constexpr (std::is_nothrow_move_constructible<T>::value &&
                  !std::is_trivially_copyable<T>::value) {
      T *d = p;
      for (T *f = b_; f != e_; ++f, ++d) {
        ::new (static_cast<void *>(d)) T(std::move(*f));
        f->~T();
      }
      e_ = b_;
      return d;
    } else {
      return move_into(b_, e_, p);
    }
  }
  T *transfer_or_free(T *p) {
    try {
      return transfer(p);
    } catch (...) {
      vcm_free(p);
      throw;
    }
  }
  // Capacity to at least n elements (n > capacity()). Strong guarantee.
  void grow_to(size_type n) {
    if constexpr (by_realloc) {
      if (b_) {
        size_type bytes = block_bytes(n), len = size();
        // Tell vcm the length, so that a move copies the elements only.
        if (e_ != c_) vcm_expand(b_, len * sizeof(T));
        void *q = vcm_realloc(b_, bytes);
        if (!q) {
          vcm_expand(b_, capacity() * sizeof(T)); /* the vector's again */
          throw std::bad_alloc();
        }
        b_ = static_cast<T *>(q);
        e_ = b_ + len;
        c_ = b_ + bytes / sizeof(T);
        return;
      }
    }
    T *c, *p = alloc_block(n, c);
    adopt(p, transfer_or_free(p), c);
  }
  // Take the new block p: destroy what is left of the old one, and free it.
  void adopt(T *p, T *e, T *c) noexcept {
    destroy(b_, e_);
    vcm_free(b_);
    b_ = p;
    e_ = e;
    c_ = c;
  }
  template <class... A>
  reference grow_emplace(A &&...a) {
    size_type n = grown(checked_add(size(), 1));
    if constexpr (by_realloc) {
      // Build the element first (its arguments may be our elements; if it throws, nothing
      // changed), then grow, then move its bytes in.
      alignas(T) unsigned char tmp[sizeof(T)];
      T *t = ::new (static_cast<void *>(tmp)) T(std::forward<A>(a)...);
      try {
        grow_to(n);
      } catch (...) {
        t->~T();
        throw;
      }
      std::memcpy(static_cast<void *>(e_), tmp, sizeof(T));
      return *e_++;
    } else {
      // New block; the new element first (the arguments may refer to the old elements).
      T *c, *p = alloc_block(n, c);
      size_type len = size();
      try {
        ::new (static_cast<void *>(p + len)) T(std::forward<A>(a)...);
      } catch (...) {
        vcm_free(p);
        throw;
      }
      T *e;
      try {
        e = transfer(p);
      } catch (...) {
        p[len].~T();
        vcm_free(p);
        throw;
      }
      adopt(p, e + 1, c);
      return e_[-1];
    }
  }
  // Resize, constructing new elements with make(p): built in place after reserving, removed
  // again if one throws (the elements as they were; the capacity may have grown).
  template <class F>
  void resize_with(size_type n, F make) {
    if (n <= size()) {
      truncate(b_ + n);
      return;
    }
    reserve(n);
    T *p = e_;
    try {
      for (; p != b_ + n; ++p) make(p);
    } catch (...) {
      destroy(e_, p);
      throw;
    }
    e_ = p;
  }
};

}  // namespace vcm

#endif  // VCM_HPP
