// relay/on_pool.h: blocking work (SQLite, password hashing) leaves the
// listeners' event loop for a thread pool, and the coroutine resumes on its
// own executor (its strand) with the result. Shared by the SMTP relay, the
// return-path listener and the HTTP API.

#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <boost/asio.hpp>
#include <type_traits>

namespace rebound::relay {

// co_await OnPool(pool, &fn) runs fn() on `pool` and yields its result (or
// nothing, for a void fn). fn is passed by pointer and must be a named local
// of the awaiting coroutine: g++ 12 miscompiles non-trivial temporaries (such
// as lambdas capturing strings) inside a co_await expression.
template <typename F>
auto OnPool(boost::asio::thread_pool& pool, F* fn) {
  namespace asio = boost::asio;
  using R = std::invoke_result_t<F&>;
  if constexpr (std::is_void_v<R>) {
    return asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&pool, fn](auto handler) {
          auto home = asio::get_associated_executor(handler);
          asio::post(pool, [handler = std::move(handler), fn, home]() mutable {
            (*fn)();
            asio::post(home, [handler = std::move(handler)]() mutable { std::move(handler)(); });
          });
        },
        asio::use_awaitable);
  } else {
    return asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
        [&pool, fn](auto handler) {
          auto home = asio::get_associated_executor(handler);
          asio::post(pool, [handler = std::move(handler), fn, home]() mutable {
            R result = (*fn)();
            asio::post(home, [handler = std::move(handler), result = std::move(result)]() mutable {
              std::move(handler)(std::move(result));
            });
          });
        },
        asio::use_awaitable);
  }
}

}  // namespace rebound::relay
