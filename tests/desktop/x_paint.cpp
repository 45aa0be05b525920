#include "x_paint.h"

#include <X11/Xlib.h>

namespace deskpilot::testing {

bool paint_root(const std::string& display, unsigned long background_rgb, int x, int y, int width, int height,
                unsigned long box_rgb) {
  Display* d = XOpenDisplay(display.c_str());
  if (!d) return false;
  const Window root = DefaultRootWindow(d);
  XSetWindowBackground(d, root, background_rgb);  // TrueColor 24-bit: pixel == 0xRRGGBB
  XClearWindow(d, root);
  GC gc = XCreateGC(d, root, 0, nullptr);
  XSetForeground(d, gc, box_rgb);
  XFillRectangle(d, root, gc, x, y, static_cast<unsigned>(width), static_cast<unsigned>(height));
  XFreeGC(d, gc);
  XSync(d, False);
  XCloseDisplay(d);
  return true;
}

}  // namespace deskpilot::testing
