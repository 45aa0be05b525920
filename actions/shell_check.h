// What a typed line would do if a shell ran it: the line normalised the way
// a shell reads it (quotes and backslashes gone, $IFS as a space, ANSI-C
// $'\x72' escapes decoded, Unicode look-alikes folded to ASCII), cut into
// simple commands, and checked against built-in rules for commands that
// destroy data or the session: recursive rm/chmod/chown of /, ~ or a system
// folder, --no-preserve-root, find / -delete, shred, mkfs and partitioners,
// writes to block devices (dd of=, > /dev/sda, tee), shutdown/reboot/halt/
// poweroff, init/telinit 0 or 6, systemctl poweroff, kill -9 -1, fork bombs,
// and decoded or downloaded text piped into a shell.
//
// A seatbelt, not a sandbox: a determined program can always find another
// spelling. The private display (and the account it runs as) is the real
// boundary; see docs/safety.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deskpilot::actions {

// Look-alikes folded (fullwidth forms, Cyrillic and Greek letters that look
// Latin, dashes, quotes, slashes, odd spaces; zero-width characters
// dropped), ASCII lower-cased. Other non-ASCII text stays as it is.
std::string fold_confusables(std::string_view utf8);

// fold_confusables, then what the shell would strip: $'...' escapes decoded,
// quotes and backslashes removed (a backslash-newline joins lines), $IFS
// and empty positional parameters ($1..$9, $@, $*) as spaces, white space
// collapsed.
std::string shell_normalise(std::string_view line);

// The simple commands of a normalised line: words split on white space, the
// line cut at ; & | && || ( ) { } ` $( and newlines.
std::vector<std::vector<std::string>> simple_commands(const std::string& normalised);

// Why the line is destructive by the built-in rules, or nullopt.
std::optional<std::string> dangerous_command(std::string_view line);

}  // namespace deskpilot::actions
