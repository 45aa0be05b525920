// Base64 (RFC 4648, standard alphabet, padded): images in data URLs, for
// the OpenAI-compatible server and its clients, and the HTML reports.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace deskpilot::base {

std::string base64_encode(std::string_view bytes);

// nullopt for characters outside the alphabet or a bad length; white space
// is skipped, padding optional.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace deskpilot::base
