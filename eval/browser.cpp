#include "eval/browser.h"

namespace deskpilot::eval {

std::string chromium_command(const std::string& browser, int width, int height, const std::string& profile) {
  return browser +
         " --no-sandbox --test-type --disable-gpu --no-first-run --no-default-browser-check --disable-extensions"
         " --disable-sync --password-store=basic --window-position=0,0 --window-size=" +
         std::to_string(width) + "," + std::to_string(height) + " --user-data-dir=" + profile;
}

}  // namespace deskpilot::eval
