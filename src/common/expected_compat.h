// A minimal std::expected for compilers whose standard library hides it.
//
// libstdc++ 12 provides <expected> only when the compiler implements
// P0848 (conditionally trivial special members); g++ 12 does, clang 14 does
// not. Custody builds with g++; only the libFuzzer targets build with
// clang 14, and this fills the gap for them with the subset Custody uses.
#pragma once

#include <expected>

#if !defined(__cpp_lib_expected)

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace std {

template <class E>
class unexpected {
 public:
  template <class G = E>
    requires(!is_same_v<remove_cvref_t<G>, unexpected> && is_constructible_v<E, G>)
  constexpr explicit unexpected(G&& e) : e_(std::forward<G>(e)) {}
  constexpr const E& error() const& noexcept { return e_; }
  constexpr E& error() & noexcept { return e_; }
  constexpr E&& error() && noexcept { return std::move(e_); }

 private:
  E e_;
};
template <class E>
unexpected(E) -> unexpected<E>;

template <class E>
class bad_expected_access : public exception {
 public:
  const char* what() const noexcept override { return "bad expected access"; }
};

template <class T, class E>
class expected {
 public:
  using value_type = T;
  using error_type = E;

  constexpr expected()
    requires is_default_constructible_v<T>
      : v_(in_place_index<0>) {}
  template <class U = T>
    requires(!is_same_v<remove_cvref_t<U>, expected> && !is_same_v<remove_cvref_t<U>, in_place_t> &&
             is_constructible_v<T, U>)
  constexpr expected(U&& v) : v_(in_place_index<0>, std::forward<U>(v)) {}
  template <class G>
  constexpr expected(const unexpected<G>& u) : v_(in_place_index<1>, u.error()) {}
  template <class G>
  constexpr expected(unexpected<G>&& u) : v_(in_place_index<1>, std::move(u.error())) {}

  constexpr bool has_value() const noexcept { return v_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }
  constexpr T& operator*() & { return std::get<0>(v_); }
  constexpr const T& operator*() const& { return std::get<0>(v_); }
  constexpr T&& operator*() && { return std::get<0>(std::move(v_)); }
  constexpr T* operator->() { return &std::get<0>(v_); }
  constexpr const T* operator->() const { return &std::get<0>(v_); }
  constexpr T& value() & {
    if (!has_value()) throw bad_expected_access<E>();
    return std::get<0>(v_);
  }
  constexpr const T& value() const& {
    if (!has_value()) throw bad_expected_access<E>();
    return std::get<0>(v_);
  }
  constexpr E& error() & { return std::get<1>(v_); }
  constexpr const E& error() const& { return std::get<1>(v_); }
  template <class U>
  constexpr T value_or(U&& d) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(d));
  }

 private:
  variant<T, E> v_;
};

template <class E>
class expected<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  constexpr expected() = default;
  template <class G>
  constexpr expected(const unexpected<G>& u) : e_(u.error()) {}
  template <class G>
  constexpr expected(unexpected<G>&& u) : e_(std::move(u.error())) {}

  constexpr bool has_value() const noexcept { return !e_.has_value(); }
  constexpr explicit operator bool() const noexcept { return has_value(); }
  constexpr void value() const {
    if (e_) throw bad_expected_access<E>();
  }
  constexpr E& error() & { return *e_; }
  constexpr const E& error() const& { return *e_; }

 private:
  optional<E> e_;
};

}  // namespace std

#endif
