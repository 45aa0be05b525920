// `deskpilot capture` against a private Xvfb.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>

#include "display_fixture.h"
#include "x_paint.h"

namespace {

struct Result {
  int status;
  std::string output;
};

Result run_deskpilot(const std::string& args) {
  const std::string out = ::testing::TempDir() + "deskpilot_cli_" + std::to_string(getpid()) + ".txt";
  const int rc = std::system((std::string(DESKPILOT_BIN) + " " + args + " > " + out + " 2>&1").c_str());
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(out.c_str());
  return {WEXITSTATUS(rc), text};
}

}  // namespace

class CaptureCliTest : public deskpilot::testing::DisplayTest {
 protected:
  static void SetUpTestSuite() { start_display(320, 240); }
};

TEST_F(CaptureCliTest, SavesTheScreenOrARegion) {
  ASSERT_TRUE(deskpilot::testing::paint_root(display(), 0x102030, 10, 10, 20, 20, 0xffffff));
  const std::string png = ::testing::TempDir() + "deskpilot_shot_" + std::to_string(getpid()) + ".png";
  Result r = run_deskpilot("capture --display " + display() + " --out " + png);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("320x240 (x11-shm)"), std::string::npos) << r.output;
  cv::Mat image = cv::imread(png);
  ASSERT_EQ(image.cols, 320);
  ASSERT_EQ(image.rows, 240);
  EXPECT_EQ(image.at<cv::Vec3b>(0, 0), cv::Vec3b(0x30, 0x20, 0x10));
  EXPECT_EQ(image.at<cv::Vec3b>(15, 15), cv::Vec3b(0xff, 0xff, 0xff));

  r = run_deskpilot("capture --display " + display() + " --region 10,10,20,20 --out " + png);
  ASSERT_EQ(r.status, 0) << r.output;
  image = cv::imread(png);
  EXPECT_EQ(image.cols, 20);
  EXPECT_EQ(image.at<cv::Vec3b>(0, 0), cv::Vec3b(0xff, 0xff, 0xff));
  std::remove(png.c_str());
}

TEST_F(CaptureCliTest, BadArgumentsAndDisplaysAreNamed) {
  Result r = run_deskpilot("capture --display " + display() + " --region 1,2,3 --out /tmp/x.png");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--region"), std::string::npos);
  r = run_deskpilot("capture --display " + display() + " --out /tmp/x.txt");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("expected a .png or .jpg"), std::string::npos);
  r = run_deskpilot("capture --display :986 --out /tmp/x.png");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("cannot open X display ':986'"), std::string::npos);
  r = run_deskpilot("capture --display " + display() + " --monitor 0 --region 0,0,5,5 --out /tmp/x.png");
  EXPECT_NE(r.status, 0);  // --monitor and --region exclude each other
}
