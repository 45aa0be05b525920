// Safetensors: files written by the reference `safetensors` package (single
// and sharded), and every kind of malformed header refused with the file and
// tensor named.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"

using namespace deskpilot::engine;
using nlohmann::json;

namespace {

const std::string kGolden = std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/safetensors";

// A safetensors image: little-endian length, header, data.
std::string image(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\x01');
}

std::string parse_error(const std::string& bytes) {
  std::string error;
  auto r = parse_safetensors_buffer(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "f.safetensors", &error);
  EXPECT_FALSE(r.has_value());
  return error;
}

void expect_matches_golden(const WeightStore& store) {
  std::ifstream in(kGolden + "/expected.json");
  const json expected = json::parse(in);
  ASSERT_EQ(store.size(), expected.size());
  for (const auto& [name, e] : expected.items()) {
    const TensorView* t = store.find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(dtype_name(t->dtype), e["dtype"].get<std::string>()) << name;
    EXPECT_EQ(t->shape, e["shape"].get<std::vector<int64_t>>()) << name;
    std::vector<float> values(static_cast<size_t>(t->elements()));
    deskpilot::kernels::convert_to_f32(t->dtype, t->data, values.data(), values.size());
    const auto want = e["values"].get<std::vector<double>>();
    ASSERT_EQ(values.size(), want.size()) << name;
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(static_cast<double>(values[i]), want[i]) << name << "[" << i << "]";
  }
}

}  // namespace

TEST(Safetensors, ReadsTheReferenceSingleFile) {
  std::string error;
  auto store = WeightStore::open(kGolden + "/single", &error);
  ASSERT_TRUE(store) << error;
  expect_matches_golden(*store);
  auto file = SafetensorsFile::open(kGolden + "/single/model.safetensors", &error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->metadata().at("format"), "pt");
}

TEST(Safetensors, ReadsTheReferenceShards) {
  std::string error;
  auto store = WeightStore::open(kGolden + "/sharded", &error);
  ASSERT_TRUE(store) << error;
  expect_matches_golden(*store);
  EXPECT_NE(store->find("model.norm.weight")->file.find("model-00002-of-00002"), std::string::npos);
}

TEST(Safetensors, ShapeCheckedGetter) {
  std::string error;
  auto store = WeightStore::open(kGolden + "/single", &error);
  ASSERT_TRUE(store) << error;
  EXPECT_NE(store->get("model.embed_tokens.weight", {7, 5}, &error), nullptr);
  EXPECT_EQ(store->get("model.embed_tokens.weight", {5, 7}, &error), nullptr);
  EXPECT_EQ(error, "model.embed_tokens.weight: expected shape [5, 7], got [7, 5] (" + kGolden +
                       "/single/model.safetensors)");
  EXPECT_EQ(store->get("lm_head.weight", {7, 5}, &error), nullptr);
  EXPECT_EQ(error, "lm_head.weight: not in the checkpoint (expected shape [7, 5])");
}

TEST(Safetensors, MalformedHeadersAreRefusedWithFileAndTensor) {
  EXPECT_EQ(parse_error("abc"), "f.safetensors: 3 bytes is too short for a safetensors file");
  EXPECT_EQ(parse_error(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}"),
            "f.safetensors: header length 9223372036854775807 is past the end of the 10-byte file");
  EXPECT_EQ(parse_error(image("{not json", 0)).rfind("f.safetensors: the header is not valid JSON", 0), 0u);
  EXPECT_EQ(parse_error(image("[1]", 0)), "f.safetensors: the header is not a JSON object");
  EXPECT_EQ(parse_error(image(R"({"w": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})", 8)),
            "f.safetensors: tensor w: unsupported dtype 'I64' (expected BF16, F16 or F32)");
  EXPECT_EQ(parse_error(image(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", 8)),
            "f.safetensors: tensor w: shape [2] of F32 needs 8 bytes, data_offsets give 4");
  EXPECT_EQ(parse_error(image(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8)),
            "f.safetensors: tensor w: data_offsets [0, 16] past the end of the 8 data bytes");
  EXPECT_EQ(parse_error(image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8)),
            "f.safetensors: tensor w: data_offsets [8, 4] past the end of the 8 data bytes");
  EXPECT_EQ(parse_error(image(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                 "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", 8)),
            "f.safetensors: tensor b: its bytes overlap tensor a");
  EXPECT_EQ(parse_error(image(R"({"w": {"dtype": "F16", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})", 0)),
            "f.safetensors: tensor w: shape [4294967296,4294967296] overflows");
  EXPECT_EQ(parse_error(image(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4)),
            "f.safetensors: tensor w: shape [-1] has a bad dimension");
  EXPECT_EQ(parse_error(image(R"({"w": {"dtype": "F32", "shape": [1]}})", 4)),
            "f.safetensors: tensor w: expected {\"dtype\", \"shape\", \"data_offsets\"}");
  EXPECT_EQ(parse_error(image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, -4]}})", 4)),
            "f.safetensors: tensor w: data_offsets is not [begin, end]");
}

TEST(Safetensors, BrokenModelFolders) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / ("deskpilot_st_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string error;
  EXPECT_FALSE(WeightStore::open(dir.string(), &error));
  EXPECT_EQ(error, dir.string() + ": no model.safetensors or model.safetensors.index.json");

  // An index that names a tensor its shard does not have.
  fs::copy_file(kGolden + "/sharded/model-00001-of-00002.safetensors", dir / "model-00001-of-00002.safetensors");
  std::ofstream(dir / "model.safetensors.index.json")
      << R"({"weight_map": {"empty": "model-00001-of-00002.safetensors",
                            "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                            "ghost": "model-00001-of-00002.safetensors"}})";
  EXPECT_FALSE(WeightStore::open(dir.string(), &error));
  EXPECT_EQ(error, (dir / "model.safetensors.index.json").string() +
                       ": ghost is listed in model-00001-of-00002.safetensors but not there");

  std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map": {"x": "../etc/passwd"}})";
  EXPECT_FALSE(WeightStore::open(dir.string(), &error));
  EXPECT_NE(error.find("'../etc/passwd' is not a file in the model folder"), std::string::npos) << error;
  fs::remove_all(dir);
}
