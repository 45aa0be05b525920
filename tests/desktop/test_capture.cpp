// X11 capture on a private Xvfb: sizes, colour channel order, regions and
// monitors, SHM and XGetImage agreeing, files, settle detection.
#include <unistd.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "display_fixture.h"
#include "vision/capture.h"
#include "vision/settle.h"
#include "x_paint.h"

using namespace deskpilot::vision;

namespace {

cv::Vec3b bgr(unsigned long rgb) {
  return {static_cast<uchar>(rgb & 0xff), static_cast<uchar>((rgb >> 8) & 0xff), static_cast<uchar>((rgb >> 16) & 0xff)};
}

}  // namespace

class CaptureTest : public deskpilot::testing::DisplayTest {
 protected:
  static void SetUpTestSuite() { start_display(640, 480); }
  void SetUp() override {
    ASSERT_TRUE(deskpilot::testing::paint_root(display(), 0x336699, 100, 50, 40, 30, 0xff8000));
  }
};

TEST_F(CaptureTest, WholeScreenInBgrWithSharedMemory) {
  std::string error;
  auto source = open_x11_capture({display(), {}, {}, true}, &error);
  ASSERT_TRUE(source) << error;
  EXPECT_EQ(source->method(), "x11-shm");
  EXPECT_EQ(source->area(), (Rect{0, 0, 640, 480}));
  cv::Mat frame;
  ASSERT_TRUE(source->grab(&frame, &error)) << error;
  ASSERT_EQ(frame.type(), CV_8UC3);
  ASSERT_EQ(frame.cols, 640);
  ASSERT_EQ(frame.rows, 480);
  EXPECT_EQ(frame.at<cv::Vec3b>(0, 0), bgr(0x336699));
  EXPECT_EQ(frame.at<cv::Vec3b>(60, 110), bgr(0xff8000));     // inside the box
  EXPECT_EQ(frame.at<cv::Vec3b>(79, 139), bgr(0xff8000));     // its last pixel
  EXPECT_EQ(frame.at<cv::Vec3b>(80, 140), bgr(0x336699));     // just outside
}

TEST_F(CaptureTest, GetImageFallbackGivesTheSameFrame) {
  std::string error;
  auto shm = open_x11_capture({display(), {}, {}, true}, &error);
  auto plain = open_x11_capture({display(), {}, {}, false}, &error);
  ASSERT_TRUE(shm && plain) << error;
  EXPECT_EQ(plain->method(), "x11-getimage");
  cv::Mat a, b;
  ASSERT_TRUE(shm->grab(&a, &error));
  ASSERT_TRUE(plain->grab(&b, &error));
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0);
}

TEST_F(CaptureTest, RegionAndMonitor) {
  std::string error;
  auto region = open_x11_capture({display(), {}, Rect{90, 40, 60, 50}, true}, &error);
  ASSERT_TRUE(region) << error;
  cv::Mat frame;
  ASSERT_TRUE(region->grab(&frame, &error));
  EXPECT_EQ(frame.size(), cv::Size(60, 50));
  EXPECT_EQ(frame.at<cv::Vec3b>(0, 0), bgr(0x336699));
  EXPECT_EQ(frame.at<cv::Vec3b>(10, 10), bgr(0xff8000));  // (100, 50) on the screen

  auto monitor = open_x11_capture({display(), 0, {}, true}, &error);
  ASSERT_TRUE(monitor) << error;
  EXPECT_EQ(monitor->area(), (Rect{0, 0, 640, 480}));
}

TEST_F(CaptureTest, BadRequestsAreNamed) {
  std::string error;
  EXPECT_FALSE(open_x11_capture({display(), {}, Rect{600, 0, 100, 10}, true}, &error));
  EXPECT_NE(error.find("region 100x10+600+0 is not inside the 640x480 screen"), std::string::npos) << error;
  EXPECT_FALSE(open_x11_capture({display(), 3, {}, true}, &error));
  EXPECT_NE(error.find("monitor 3 does not exist"), std::string::npos) << error;
  EXPECT_FALSE(open_x11_capture({":987", {}, {}, true}, &error));
  EXPECT_NE(error.find("cannot open X display ':987'"), std::string::npos) << error;
  EXPECT_EQ(parse_rect("1,2,3,4"), (Rect{1, 2, 3, 4}));
  EXPECT_FALSE(parse_rect("1,2,3"));
  EXPECT_FALSE(parse_rect("1,2,0,4"));
  EXPECT_FALSE(parse_rect("1,2,3,4x"));
}

TEST_F(CaptureTest, SettlesOnAStillScreenAndNotOnAChangingOne) {
  std::string error;
  auto source = open_x11_capture({display(), {}, {}, true}, &error);
  ASSERT_TRUE(source) << error;
  SettleOptions o;
  o.interval_ms = 10;
  o.timeout_ms = 2000;
  SettleResult still = wait_for_settle(*source, o);
  EXPECT_TRUE(still.settled);
  EXPECT_EQ(still.frames, 3);  // two unchanged comparisons
  EXPECT_LT(still.waited_ms, 1000);

  // A source whose frames keep changing never settles and says so.
  class Flicker final : public ScreenSource {
   public:
    bool grab(cv::Mat* bgr, std::string*) override {
      *bgr = cv::Mat(48, 64, CV_8UC3, cv::Scalar::all((n_++ % 2) * 255));
      return true;
    }
    Rect area() const override { return {0, 0, 64, 48}; }
    std::string method() const override { return "flicker"; }

   private:
    int n_ = 0;
  } flicker;
  o.timeout_ms = 200;
  SettleResult moving = wait_for_settle(flicker, o);
  EXPECT_FALSE(moving.settled);
  EXPECT_GE(moving.waited_ms, 150);
  EXPECT_DOUBLE_EQ(moving.last_change, 1.0);
}

TEST(ChangedFraction, CountsPixelsAboveTheThreshold) {
  cv::Mat a(10, 10, CV_8UC3, cv::Scalar::all(0));
  cv::Mat b = a.clone();
  b.at<cv::Vec3b>(3, 3) = {0, 0, 200};
  b.at<cv::Vec3b>(4, 4) = {5, 5, 5};  // below the threshold: noise
  EXPECT_DOUBLE_EQ(changed_fraction(a, b, 8), 0.01);
  EXPECT_DOUBLE_EQ(changed_fraction(a, cv::Mat(5, 5, CV_8UC3), 8), 1.0);
}

TEST(FileSource, OneFileOrAFolderInNameOrder) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / ("deskpilot_frames_" + std::to_string(getpid()));
  fs::create_directories(dir);
  cv::imwrite((dir / "b.png").string(), cv::Mat(4, 6, CV_8UC3, cv::Scalar(1, 2, 3)));
  cv::imwrite((dir / "a.png").string(), cv::Mat(4, 6, CV_8UC3, cv::Scalar(9, 8, 7)));
  std::string error;
  auto folder = open_file_source(dir.string(), &error);
  ASSERT_TRUE(folder) << error;
  cv::Mat f;
  ASSERT_TRUE(folder->grab(&f, &error));
  EXPECT_EQ(f.at<cv::Vec3b>(0, 0), cv::Vec3b(9, 8, 7));  // a.png first
  ASSERT_TRUE(folder->grab(&f, &error));
  EXPECT_EQ(f.at<cv::Vec3b>(0, 0), cv::Vec3b(1, 2, 3));
  ASSERT_TRUE(folder->grab(&f, &error));  // the last one again
  EXPECT_EQ(f.at<cv::Vec3b>(0, 0), cv::Vec3b(1, 2, 3));

  EXPECT_FALSE(open_file_source((dir / "missing.png").string(), &error));
  EXPECT_NE(error.find("missing.png: cannot read"), std::string::npos);
  fs::remove_all(dir);
}
