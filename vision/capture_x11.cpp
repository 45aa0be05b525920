// X11 screen capture. MIT-SHM: one shared-memory XImage, created once and
// filled by XShmGetImage on every grab (the server copies straight into our
// memory), then one BGRA->BGR conversion. Without SHM (remote displays, no
// IPC namespace), XGetImage allocates and transfers a new image each time.
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>
#include <X11/extensions/Xrandr.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <opencv2/imgproc.hpp>

#include "vision/capture.h"

namespace deskpilot::vision {
namespace {

// X errors arrive asynchronously; this records the last one instead of the
// default handler's exit(). Only used around calls that may fail.
int g_last_x_error = 0;
int record_x_error(Display*, XErrorEvent* e) {
  g_last_x_error = e->error_code;
  return 0;
}

std::string rect_text(const Rect& r) {
  return std::to_string(r.width) + "x" + std::to_string(r.height) + "+" + std::to_string(r.x) + "+" +
         std::to_string(r.y);
}

class X11Capture final : public ScreenSource {
 public:
  X11Capture(Display* display, Rect area) : display_(display), area_(area) {}

  ~X11Capture() override {
    if (shm_image_) {
      XShmDetach(display_, &shm_info_);
      XDestroyImage(shm_image_);
      shmdt(shm_info_.shmaddr);
    }
    XCloseDisplay(display_);
  }

  // Sets up the shared segment; false (and GetImage is used) when it fails.
  bool init_shm() {
    int major = 0, minor = 0;
    Bool pixmaps = False;
    if (!XShmQueryVersion(display_, &major, &minor, &pixmaps)) return false;
    const int screen = DefaultScreen(display_);
    shm_image_ = XShmCreateImage(display_, DefaultVisual(display_, screen), DefaultDepth(display_, screen),
                                 ZPixmap, nullptr, &shm_info_, static_cast<unsigned>(area_.width),
                                 static_cast<unsigned>(area_.height));
    if (!shm_image_) return false;
    // (height, bytes_per_line) bytes of BGRX pixels, shared with the server.
    shm_info_.shmid = shmget(IPC_PRIVATE, static_cast<size_t>(shm_image_->bytes_per_line) * shm_image_->height,
                             IPC_CREAT | 0600);
    if (shm_info_.shmid < 0) return fail_shm();
    shm_info_.shmaddr = shm_image_->data = static_cast<char*>(shmat(shm_info_.shmid, nullptr, 0));
    shmctl(shm_info_.shmid, IPC_RMID, nullptr);  // freed once both sides detach
    if (shm_info_.shmaddr == reinterpret_cast<char*>(-1)) {
      shm_info_.shmaddr = nullptr;
      return fail_shm();
    }
    shm_info_.readOnly = False;
    g_last_x_error = 0;
    auto old = XSetErrorHandler(record_x_error);
    XShmAttach(display_, &shm_info_);
    XSync(display_, False);
    XSetErrorHandler(old);
    if (g_last_x_error != 0) {
      shmdt(shm_info_.shmaddr);
      return fail_shm();
    }
    return true;
  }

  bool grab(cv::Mat* bgr, std::string* error) override {
    const Window root = DefaultRootWindow(display_);
    XImage* image = shm_image_;
    if (shm_image_) {
      if (!XShmGetImage(display_, root, shm_image_, area_.x, area_.y, AllPlanes)) {
        *error = "XShmGetImage failed for " + rect_text(area_);
        return false;
      }
    } else {
      g_last_x_error = 0;
      auto old = XSetErrorHandler(record_x_error);
      image = XGetImage(display_, root, area_.x, area_.y, static_cast<unsigned>(area_.width),
                        static_cast<unsigned>(area_.height), AllPlanes, ZPixmap);
      XSetErrorHandler(old);
      if (!image) {
        *error = "XGetImage failed for " + rect_text(area_);
        return false;
      }
    }
    bool ok = true;
    if (image->bits_per_pixel == 32 && image->byte_order == LSBFirst) {
      // (height, width) pixels of B, G, R, X bytes.
      const cv::Mat bgrx(area_.height, area_.width, CV_8UC4, image->data,
                         static_cast<size_t>(image->bytes_per_line));
      cv::cvtColor(bgrx, *bgr, cv::COLOR_BGRA2BGR);
    } else {
      *error = "unsupported X image format: " + std::to_string(image->bits_per_pixel) +
               " bits per pixel (a 24-bit TrueColor display is needed)";
      ok = false;
    }
    if (image != shm_image_) XDestroyImage(image);
    return ok;
  }

  Rect area() const override { return area_; }
  std::string method() const override { return shm_image_ ? "x11-shm" : "x11-getimage"; }

 private:
  bool fail_shm() {
    XDestroyImage(shm_image_);
    shm_image_ = nullptr;
    return false;
  }

  Display* display_;
  Rect area_;
  XImage* shm_image_ = nullptr;
  XShmSegmentInfo shm_info_{};
};

}  // namespace

std::unique_ptr<ScreenSource> open_x11_capture(const X11CaptureOptions& o, std::string* error) {
  const char* name = o.display.empty() ? nullptr : o.display.c_str();
  Display* display = XOpenDisplay(name);
  if (!display) {
    *error = "cannot open X display '" + std::string(name ? name : (getenv("DISPLAY") ? getenv("DISPLAY") : "")) +
             "'";
    return nullptr;
  }
  const int screen = DefaultScreen(display);
  const Rect whole{0, 0, DisplayWidth(display, screen), DisplayHeight(display, screen)};
  Rect area = whole;
  if (o.monitor) {
    int count = 0;
    XRRMonitorInfo* monitors = XRRGetMonitors(display, DefaultRootWindow(display), True, &count);
    if (!monitors || *o.monitor < 0 || *o.monitor >= count) {
      *error = "monitor " + std::to_string(*o.monitor) + " does not exist (the display has " +
               std::to_string(count) + ")";
      if (monitors) XRRFreeMonitors(monitors);
      XCloseDisplay(display);
      return nullptr;
    }
    const XRRMonitorInfo& m = monitors[*o.monitor];
    area = {m.x, m.y, m.width, m.height};
    XRRFreeMonitors(monitors);
  } else if (o.region) {
    area = *o.region;
    if (area.width <= 0 || area.height <= 0 || area.x < 0 || area.y < 0 ||
        area.x + area.width > whole.width || area.y + area.height > whole.height) {
      *error = "region " + rect_text(area) + " is not inside the " + std::to_string(whole.width) + "x" +
               std::to_string(whole.height) + " screen";
      XCloseDisplay(display);
      return nullptr;
    }
  }
  auto capture = std::make_unique<X11Capture>(display, area);
  if (o.use_shm) capture->init_shm();
  return capture;
}

std::optional<Rect> parse_rect(const std::string& text) {
  Rect r;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%d,%d,%d,%d%c", &r.x, &r.y, &r.width, &r.height, &tail) != 4) {
    return std::nullopt;
  }
  if (r.width <= 0 || r.height <= 0) return std::nullopt;
  return r;
}

}  // namespace deskpilot::vision
