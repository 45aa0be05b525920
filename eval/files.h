// Reading the inputs and results of evaluations: the files of a folder (or
// the one file named), and JSON Lines files with errors naming file and line.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace deskpilot::eval {

// The regular files of DIR with one of `extensions` (".json"), in name order;
// or PATH itself when it is a file. Empty when there are none.
std::vector<std::filesystem::path> input_files(const std::string& path, const std::vector<std::string>& extensions);

// Each non-empty line of a JSON Lines file, parsed, given to `take`; false
// and *error ("FILE: line N: not WHAT") when a line does not parse or `take`
// refuses it, or ("FILE: cannot read") when the file cannot be opened.
bool read_jsonl(const std::string& path, const std::string& what,
                const std::function<bool(const nlohmann::json&)>& take, std::string* error);

}  // namespace deskpilot::eval
