#include "vision/x11_windows.h"

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>

namespace deskpilot::vision {
namespace {

std::string window_title(Display* d, Window w) {
  const Atom net_wm_name = XInternAtom(d, "_NET_WM_NAME", True);
  const Atom utf8 = XInternAtom(d, "UTF8_STRING", True);
  if (net_wm_name != 0 && utf8 != 0) {
    Atom type = 0;
    int format = 0;
    unsigned long count = 0, after = 0;
    unsigned char* data = nullptr;
    if (XGetWindowProperty(d, w, net_wm_name, 0, 1024, False, utf8, &type, &format, &count, &after, &data) ==
            Success &&
        data) {
      std::string title(reinterpret_cast<char*>(data), count);
      XFree(data);
      if (!title.empty()) return title;
    }
  }
  char* name = nullptr;
  if (XFetchName(d, w, &name) && name) {
    std::string title(name);
    XFree(name);
    return title;
  }
  return {};
}

void add_window(Display* d, Window w, std::vector<WindowInfo>* out) {
  XWindowAttributes attrs;
  if (!XGetWindowAttributes(d, w, &attrs)) return;
  WindowInfo info;
  info.id = w;
  info.title = window_title(d, w);
  info.viewable = attrs.map_state == IsViewable;
  Window child = 0;
  int x = 0, y = 0;
  XTranslateCoordinates(d, w, DefaultRootWindow(d), 0, 0, &x, &y, &child);
  info.geometry = {x, y, attrs.width, attrs.height};
  if (info.viewable && !info.title.empty()) out->push_back(std::move(info));
}

int ignore_errors(Display*, XErrorEvent*) { return 0; }  // windows vanish while we look

}  // namespace

bool list_windows(const std::string& display, std::vector<WindowInfo>* out, std::string* error) {
  Display* d = XOpenDisplay(display.empty() ? nullptr : display.c_str());
  if (!d) {
    *error = "cannot open X display '" + display + "'";
    return false;
  }
  auto old = XSetErrorHandler(ignore_errors);
  out->clear();
  const Window root = DefaultRootWindow(d);
  Window root_return = 0, parent = 0;
  Window* children = nullptr;
  unsigned int count = 0;
  if (XQueryTree(d, root, &root_return, &parent, &children, &count)) {
    for (unsigned int i = 0; i < count; ++i) {
      const size_t before = out->size();
      add_window(d, children[i], out);
      if (out->size() != before) continue;
      // Reparenting window managers put the client one level down.
      Window* grandchildren = nullptr;
      unsigned int n = 0;
      if (XQueryTree(d, children[i], &root_return, &parent, &grandchildren, &n)) {
        for (unsigned int k = 0; k < n; ++k) add_window(d, grandchildren[k], out);
        if (grandchildren) XFree(grandchildren);
      }
    }
    if (children) XFree(children);
  }
  XSetErrorHandler(old);
  XCloseDisplay(d);
  return true;
}

bool activate_window(const std::string& display, unsigned long id, std::string* error) {
  Display* d = XOpenDisplay(display.empty() ? nullptr : display.c_str());
  if (!d) {
    *error = "cannot open X display '" + display + "'";
    return false;
  }
  auto old = XSetErrorHandler(ignore_errors);
  XRaiseWindow(d, id);
  XSetInputFocus(d, id, RevertToPointerRoot, CurrentTime);
  XSync(d, False);
  XSetErrorHandler(old);
  XCloseDisplay(d);
  return true;
}

}  // namespace deskpilot::vision
