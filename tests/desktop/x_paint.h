// Paints the root window of a test display. Kept apart from the tests: X11
// headers define None, Status, Bool... which break GoogleTest and OpenCV.
#pragma once

#include <string>

namespace deskpilot::testing {

// Root background 0xRRGGBB plus one filled rectangle; false if the display
// cannot be opened.
bool paint_root(const std::string& display, unsigned long background_rgb, int x, int y, int width, int height,
                unsigned long box_rgb);

}  // namespace deskpilot::testing
