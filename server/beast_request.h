// A Beast request as the router takes it (router.h keeps Beast out of its
// interface): shared by parse_http_request and the connection's reader.
#pragma once

#include <string>

#include <boost/beast/http.hpp>

#include "server/router.h"

namespace deskpilot::server {

inline HttpRequest to_http_request(boost::beast::http::request<boost::beast::http::string_body>&& req) {
  namespace http = boost::beast::http;
  HttpRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  r.authorization = std::string(req[http::field::authorization]);
  r.content_type = std::string(req[http::field::content_type]);
  r.keep_alive = req.keep_alive();
  r.body = std::move(req.body());
  return r;
}

}  // namespace deskpilot::server
