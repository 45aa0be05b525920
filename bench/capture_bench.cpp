// 1920x1080 capture on a private Xvfb, in one run:
//   x11-shm       XShmGetImage into the reused segment + BGRA->BGR (deskpilot's path)
//   x11-getimage  XGetImage + BGRA->BGR (the fallback)
//   import        ImageMagick's `import -window root` (a separate process), if installed
// Frames are checked equal between the two X paths before timing. Prints the
// median of each and the ratios. Target: x11-shm at most 3 ms.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "base/clock.h"
#include "agent/xvfb.h"
#include "vision/capture.h"

using namespace deskpilot;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
double time_ms(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return base::ms_since(t0);
}

double bench_source(vision::ScreenSource& source, int runs) {
  cv::Mat frame;
  std::string error;
  for (int i = 0; i < 5; ++i) source.grab(&frame, &error);  // warm-up
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) ms.push_back(time_ms([&] { source.grab(&frame, &error); }));
  return median(ms);
}

}  // namespace

int main() {
  agent::XvfbOptions o;  // 1920x1080x24
  std::string error;
  auto server = agent::XvfbServer::start(o, &error);
  if (!server) {
    std::fprintf(stderr, "capture_bench: %s\n", error.c_str());
    return 1;
  }
  // Something on the screen that is not one colour: xterm if present.
  const std::string xterm = "xterm -display " + server->display() +
                            " -geometry 200x60+0+0 -e sh -c 'ls -laR /usr/share | head -3000; sleep 60' "
                            ">/dev/null 2>&1 &";
  (void)std::system(xterm.c_str());
  usleep(1500 * 1000);

  auto shm = vision::open_x11_capture({server->display(), {}, {}, true}, &error);
  auto plain = vision::open_x11_capture({server->display(), {}, {}, false}, &error);
  if (!shm || !plain || shm->method() != "x11-shm") {
    std::fprintf(stderr, "capture_bench: cannot capture with MIT-SHM: %s\n", error.c_str());
    return 1;
  }
  cv::Mat a, b;
  shm->grab(&a, &error);
  plain->grab(&b, &error);
  if (a.size() != cv::Size(1920, 1080) || cv::norm(a, b, cv::NORM_INF) != 0) {
    std::fprintf(stderr, "capture_bench: the two capture paths disagree\n");
    return 1;
  }
  const double shm_ms = bench_source(*shm, 60);
  const double getimage_ms = bench_source(*plain, 30);
  std::printf("capture 1920x1080 x11-shm      median %.2f ms (target <= 3 ms)\n", shm_ms);
  std::printf("capture 1920x1080 x11-getimage median %.2f ms  (x11-shm is %.1fx faster)\n", getimage_ms,
              getimage_ms / shm_ms);
  if (std::system("command -v import >/dev/null 2>&1") == 0) {
    const std::string cmd = "import -display " + server->display() + " -silent -window root bmp:/dev/null";
    std::vector<double> ms;
    for (int i = 0; i < 7; ++i) ms.push_back(time_ms([&] { (void)std::system(cmd.c_str()); }));
    const double import_ms = median(ms);
    std::printf("capture 1920x1080 import       median %.2f ms  (x11-shm is %.1fx faster)\n", import_ms,
                import_ms / shm_ms);
  } else {
    std::printf("capture 1920x1080 import       skipped: ImageMagick's import is not installed\n");
  }
  (void)std::system(("pkill -f 'xterm -display " + server->display() + "'").c_str());
  return 0;
}
