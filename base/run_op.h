// Boost.Beast with deadlines: Beast's synchronous calls ignore a stream's
// expires_after, so the server and the HTTP client run each operation
// asynchronously and drive their own io_context until it completes. Header
// only; used by server/ and policies/http_chat_model.cpp.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>

namespace deskpilot::base {

// `start(handler)` begins one asynchronous operation; returns its error
// (beast::error::timeout when the stream's expiry passed first).
template <typename Start>
boost::beast::error_code run_op(boost::asio::io_context& io, Start&& start) {
  boost::beast::error_code result = boost::asio::error::would_block;
  start([&result](boost::beast::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

}  // namespace deskpilot::base
