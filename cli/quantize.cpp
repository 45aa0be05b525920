#include "cli/quantize.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "engine/model.h"
#include "engine/quantize.h"

namespace deskpilot::cli {
namespace {

struct QuantizeCli {
  std::string in, out, mmproj;
  std::string type = "q4_k_m";
};

int run_quantize(const QuantizeCli& o) {
  std::string error;
  const auto recipe = engine::parse_quant_recipe(o.type, &error);
  if (!recipe) {
    std::cerr << "deskpilot: --type: " << error << "\n";
    return 2;
  }
  if (o.out.size() < 5 || o.out.compare(o.out.size() - 5, 5, ".gguf") != 0) {
    std::cerr << "deskpilot: " << o.out << ": the output is a GGUF file; name it FILE.gguf\n";
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  engine::LoadOptions options;
  options.mmproj = o.mmproj;
  options.quantize = &*recipe;
  auto model = engine::Model::load(o.in, options, &error);
  if (!model) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  if (!engine::write_gguf_text_model(*model, *recipe, o.out, &error)) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::error_code ec;
  std::printf("%s: %s, %.1f MB, %.1f s\n", o.out.c_str(), recipe->name.c_str(),
              static_cast<double>(std::filesystem::file_size(o.out, ec)) / 1e6, s);
  if (model->vision() && o.mmproj.empty() && !engine::is_gguf_path(o.in)) {
    std::printf(
        "the vision tower is not in it: make its mmproj file with llama.cpp's convert_hf_to_gguf.py --mmproj\n");
  }
  return 0;
}

}  // namespace

void add_quantize_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<QuantizeCli>();
  CLI::App* cmd =
      app.add_subcommand("quantize", "Write a model's text weights as a quantized GGUF file (llama.cpp reads it)");
  cmd->add_option("in", o->in, "A Hugging Face model folder, or a GGUF file to requantize")->required();
  cmd->add_option("out", o->out, "The GGUF file to write")->required();
  cmd->add_option("--type", o->type, "q4_k_m, q5_k_m, q8_0, q4_0, q4_k, q5_k, q6_k, f16, bf16")->capture_default_str();
  cmd->add_option("--mmproj", o->mmproj, "GGUF input: its mmproj file, when not the one beside it");
  cmd->callback([o, exit_code] { *exit_code = run_quantize(*o); });
}

}  // namespace deskpilot::cli
