// A real X client for tests: a window covering the screen that writes every
// pointer and key event it receives, one line each, flushed at once:
//   ready
//   press BUTTON X Y | release BUTTON X Y | motion X Y
//   key_down KEYSYM_HEX NAME | key_up KEYSYM_HEX NAME
// Usage: x_event_recorder DISPLAY OUTPUT_FILE. Runs until killed (or 60 s).
#include <X11/Xlib.h>
#include <X11/Xutil.h>

#include <cstdio>
#include <ctime>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: x_event_recorder DISPLAY OUTPUT_FILE\n");
    return 2;
  }
  Display* d = XOpenDisplay(argv[1]);
  if (!d) {
    std::fprintf(stderr, "x_event_recorder: cannot open display %s\n", argv[1]);
    return 1;
  }
  FILE* out = std::fopen(argv[2], "w");
  if (!out) return 1;
  const int screen = DefaultScreen(d);
  const Window w = XCreateSimpleWindow(d, RootWindow(d, screen), 0, 0, DisplayWidth(d, screen),
                                       DisplayHeight(d, screen), 0, BlackPixel(d, screen),
                                       WhitePixel(d, screen));
  XSelectInput(d, w, ButtonPressMask | ButtonReleaseMask | KeyPressMask | KeyReleaseMask |
                         PointerMotionMask | StructureNotifyMask);
  XMapWindow(d, w);
  XEvent e;
  do XNextEvent(d, &e);
  while (e.type != MapNotify);
  XSetInputFocus(d, w, RevertToParent, CurrentTime);
  XSync(d, False);
  std::fprintf(out, "ready\n");
  std::fflush(out);
  const std::time_t start = std::time(nullptr);
  while (std::time(nullptr) - start < 60) {
    XNextEvent(d, &e);
    switch (e.type) {
      case ButtonPress:
      case ButtonRelease:
        std::fprintf(out, "%s %u %d %d\n", e.type == ButtonPress ? "press" : "release", e.xbutton.button,
                     e.xbutton.x, e.xbutton.y);
        break;
      case MotionNotify:
        std::fprintf(out, "motion %d %d\n", e.xmotion.x, e.xmotion.y);
        break;
      case KeyPress:
      case KeyRelease: {
        char buf[32];
        KeySym sym = 0;
        XLookupString(&e.xkey, buf, sizeof buf, &sym, nullptr);
        const char* name = XKeysymToString(sym);
        std::fprintf(out, "%s %lx %s\n", e.type == KeyPress ? "key_down" : "key_up", sym, name ? name : "?");
        break;
      }
      default:
        break;
    }
    std::fflush(out);
  }
  return 0;
}
